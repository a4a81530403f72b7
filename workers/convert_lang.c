/*
 * convert_lang.c - a stream's language tag as HLS wants it: RFC 5646,
 * which uses the two-letter ISO 639-1 code where one exists ("eng" and
 * "en" both become "en") and the ISO 639-2/T code otherwise, and a human
 * name for the NAME attribute. Containers store ISO 639-2 (MP4 always,
 * Matroska mostly, sometimes the bibliographic form "fre" or "ger").
 *
 * The table is generated from Debian's iso-codes (tools/gen-lang-table.py).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "workers/convert_int.h"

struct convert_lang_row {
    const char *t, *b, *two, *name;
};

static const struct convert_lang_row convert_lang_rows[] = {
#include "workers/convert_lang_tab.inc"
};

#define CONVERT_LANG_ROWS (sizeof(convert_lang_rows) / sizeof(convert_lang_rows[0]))

/* convert_lang_find - the row of a two- or three-letter code, or NULL. */
static const struct convert_lang_row *
convert_lang_find(const char *code, size_t len)
{
    for (size_t i = 0; i < CONVERT_LANG_ROWS; i++) {
        const struct convert_lang_row *r = &convert_lang_rows[i];
        if ((len == 3 && (strncasecmp(code, r->t, 3) == 0 ||
                          (r->b[0] != '\0' && strncasecmp(code, r->b, 3) == 0))) ||
            (len == 2 && r->two[0] != '\0' && strncasecmp(code, r->two, 2) == 0)) {
            return r;
        }
    }
    return NULL;
}

/*
 * convert_lang_tag - RFC 5646 tag for a container's language value into
 * tag (empty when unknown or undetermined: "und", "mis", "mul", "zxx"),
 * and its English name into name (empty when unknown). A value that is
 * already a tag with subtags ("en-US", "pt_BR") keeps its region.
 */
void
convert_lang_tag(const char *value, char *tag, size_t taglen, char *name, size_t namelen)
{
    tag[0] = '\0';
    name[0] = '\0';
    if (value == NULL) {
        return;
    }
    size_t len = 0;
    while (isalpha((unsigned char)value[len])) {
        len++;
    }
    if (len < 2 || len > 3 || (value[len] != '\0' && value[len] != '-' && value[len] != '_')) {
        return;
    }
    static const char *const none[] = {"und", "mis", "mul", "zxx"};
    for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
        if (len == 3 && strncasecmp(value, none[i], 3) == 0) {
            return;
        }
    }
    const struct convert_lang_row *r = convert_lang_find(value, len);
    if (r == NULL) {
        return;
    }
    const char *primary = r->two[0] != '\0' ? r->two : r->t;
    /* A region or script subtag: letters and digits, 2 to 8 of them. */
    char sub[10] = "";
    if (value[len] != '\0') {
        size_t k = 0;
        const char *s = value + len + 1;
        while (k + 1 < sizeof(sub) && isalnum((unsigned char)s[k])) {
            sub[k] = s[k];
            k++;
        }
        sub[k] = '\0';
        if (k < 2 || s[k] != '\0') {
            sub[0] = '\0';
        }
        for (size_t i = 0; sub[i] != '\0'; i++) {
            sub[i] = (char)(k == 2 ? toupper((unsigned char)sub[i]) : sub[i]);
        }
    }
    snprintf(tag, taglen, "%s%s%s", primary, sub[0] != '\0' ? "-" : "", sub);
    snprintf(name, namelen, "%s", r->name);
}

/* convert_lang_taken - is s one of the n strings at first, first + stride, ...? */
static int
convert_lang_taken(const struct convert_lang_set *set, const char *s)
{
    for (int i = 0; i < set->n; i++) {
        if (strcmp(set->first + (size_t)i * set->stride, s) == 0) {
            return 1;
        }
    }
    return 0;
}

/*
 * convert_lang_name - a rendition name "<prefix>[_<tag>][<suffix>]" that
 * none of taken has, adding "_2", "_3"... when one has: names are
 * directory names and must be unique within a job. Tags are cut to fit.
 */
void
convert_lang_name(char name[CONVERT_NAME_MAX], const char *prefix, const char *tag,
                  const char *suffix, const struct convert_lang_set *taken)
{
    char base[CONVERT_NAME_MAX];
    snprintf(base, sizeof(base), "%.5s%s%.6s%.3s", prefix, tag[0] != '\0' ? "_" : "", tag, suffix);
    for (unsigned k = 1; k < 100; k++) {
        char tail[8] = "";
        if (k > 1) {
            snprintf(tail, sizeof(tail), "_%u", k);
        }
        size_t room = CONVERT_NAME_MAX - 1 - strlen(tail);
        snprintf(name, CONVERT_NAME_MAX, "%.*s%s", (int)room, base, tail);
        if (!convert_lang_taken(taken, name)) {
            return;
        }
    }
}

/* convert_lang_utf8 - length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
size_t
convert_lang_utf8(const unsigned char *s, size_t n)
{
    if (n == 0) {
        return 0;
    }
    if (s[0] < 0x80) {
        return 1;
    }
    size_t len = s[0] >= 0xf0 && s[0] <= 0xf4  ? 4
                 : s[0] >= 0xe0 && s[0] < 0xf0 ? 3
                 : s[0] >= 0xc2 && s[0] < 0xe0 ? 2
                                               : 0;
    if (len == 0 || len > n) {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
    }
    return len;
}

/*
 * convert_lang_label - a NAME attribute from a container's title (or our
 * own words) and a suffix: valid UTF-8 only (other bytes become '?'),
 * control characters and '"' become spaces, cut on a character boundary
 * so that the suffix fits in cap bytes.
 */
void
convert_lang_label(char *dst, size_t cap, const char *src, const char *suffix)
{
    size_t room = cap - 1 - strlen(suffix), k = 0, n = strlen(src);
    const unsigned char *u = (const unsigned char *)src;
    for (size_t i = 0; i < n;) {
        size_t len = convert_lang_utf8(u + i, n - i);
        if (len == 0) {
            len = 1;
            if (k + 1 > room) {
                break;
            }
            dst[k++] = '?';
        } else {
            if (k + len > room) {
                break;
            }
            for (size_t q = 0; q < len; q++) {
                unsigned char c = u[i + q];
                dst[k++] = (char)(len == 1 && (c < 0x20 || c == 0x7f || c == '"') ? ' ' : c);
            }
        }
        i += len;
    }
    while (k > 0 && dst[k - 1] == ' ') {
        k--;
    }
    snprintf(dst + k, cap - k, "%s", suffix);
}

/*
 * convert_lang_unique - make s (cap bytes) a NAME no earlier member of its
 * group has (RFC 8216 4.3.4.1.1: they MUST differ), adding " 2", " 3"...
 */
void
convert_lang_unique(char *s, size_t cap, const struct convert_lang_set *taken)
{
    char base[128];
    snprintf(base, sizeof(base), "%s", s);
    for (unsigned k = 2; convert_lang_taken(taken, s) && k < 1000; k++) {
        char tail[8];
        snprintf(tail, sizeof(tail), " %u", k);
        convert_lang_label(s, cap, base, tail);
    }
}
