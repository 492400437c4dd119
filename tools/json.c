/* json.c - the JSON writer of the command line (json.h). */
#include "json.h"

#include <math.h>

/* the length of the well-formed UTF-8 sequence at s (RFC 3629: no overlong
 * forms, no surrogates, nothing past U+10FFFF), or 0 */
static int utf8_len(const unsigned char *s)
{
	int n = s[0] >= 0xc2 && s[0] <= 0xdf ? 2 : s[0] >= 0xe0 && s[0] <= 0xef ? 3 : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : 0;
	for (int i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0) || (s[0] == 0xf0 && s[1] < 0x90) ||
	    (s[0] == 0xf4 && s[1] >= 0x90))
		return 0;
	return n;
}

void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		unsigned char ch = *p;
		int n;
		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else if (ch < 0x80)
			fputc(ch, f);
		else if ((n = utf8_len(p)) > 0) {
			fwrite(p, 1, (size_t)n, f);
			p += n - 1;
		} else
			fputs("\\ufffd", f); /* a byte that is not UTF-8: JSON text must be */
	}
	fputc('"', f);
}

const char *json_fmt(char *buf, double x, int prec)
{
	if (!isfinite(x))
		return "null";
	snprintf(buf, JSON_NUM, "%.*f", prec, x);
	return buf;
}

void json_num(FILE *f, double x, int prec)
{
	char b[JSON_NUM];
	fputs(json_fmt(b, x, prec), f);
}
