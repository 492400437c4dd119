/* json.h - the JSON writer of the command line: strings and numbers. */
#ifndef PETRI_JSON_H
#define PETRI_JSON_H

#include <stdio.h>

/* s as a JSON string literal, escaped */
void json_str(FILE *f, const char *s);

/* x with prec decimals in buf (JSON_NUM chars), or "null" when not finite:
 * JSON has no NaN or infinity */
#define JSON_NUM 48
const char *json_fmt(char *buf, double x, int prec);

/* json_fmt written to f */
void json_num(FILE *f, double x, int prec);

#endif
