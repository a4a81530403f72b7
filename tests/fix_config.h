/*
 * fix_config.h - fixtures for the tests of daemon/config.c, on top of
 * tests/fix.h: a configuration loaded from a text, a loaded value as text,
 * and the list of every key (what etc/hlsd.conf must document and the key
 * table must cover).
 */
#ifndef HLSD_TESTS_FIX_CONFIG_H
#define HLSD_TESTS_FIX_CONFIG_H

#include <stddef.h>

#include "daemon/config.h"
#include "tests/fix.h"

/* fix_config_text - config_load() of a file holding text; err is "" on success */
int fix_config_text(struct config *c, const char *text, char *err, size_t errlen);

/* fix_config_field - the loaded value of section.key as text (paths as
 * stored); an unknown key fails the test */
void fix_config_field(const struct config *c, const char *sec, const char *key, char *out,
                      size_t cap);

/* fix_config_keys - "section.key" for every key of every section */
extern const char *const fix_config_keys[];
extern const size_t fix_config_nkeys;

#endif
