/*
 * version.h - hlsd's version, one string for the daemon and its tools.
 *
 * The only source is the VERSION file at the top of the tree: the Makefile
 * passes it as -DHLSD_VERSION to every compilation (and rebuilds everything
 * when it changes), `make deb` names the package after it. Never write the
 * number anywhere else.
 */
#ifndef HLSD_DAEMON_VERSION_H
#define HLSD_DAEMON_VERSION_H

#ifndef HLSD_VERSION
#error "HLSD_VERSION comes from the VERSION file through the Makefile (-DHLSD_VERSION)"
#endif

#endif
