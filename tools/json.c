/* json.c - the JSON writer of the command line (json.h). */
#include "json.h"

#include <math.h>

void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
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
