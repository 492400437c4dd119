/* fr_svg.c - the frontier as an SVG scatter plot.
 *
 * Layers, back to front: grid and axes, the eps-band (shaded polygon between
 * hull(c) and (1+eps) hull(c)), all points (grey), band members (blue),
 * points chosen as parents (orange ring), hull polyline and vertices, the
 * picked point (red), legend. Costs on x in the axis's unit (log or linear),
 * validation error in % on y.
 */
#include "frontier_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void fr_svg_opts_default(fr_svg_opts *o)
{
	o->width = 900, o->height = 600;
	o->log_x = -1;
	o->title = NULL;
	o->pick = -1;
}

typedef struct {
	double x0, x1, y0, y1;   /* data range (x already in display units, log10 if lg) */
	double px0, px1, py0, py1; /* plot area in pixels */
	int lg;
	double scale;            /* cost / scale = display units */
} plot;

static double tx(const plot *p, double cost)
{
	double v = cost / p->scale;
	if (p->lg)
		v = log10(v > 0 ? v : pow(10, p->x0));
	return p->px0 + (v - p->x0) / (p->x1 - p->x0) * (p->px1 - p->px0);
}

static double ty(const plot *p, double err)
{
	double v = 100 * err;
	return p->py1 - (v - p->y0) / (p->y1 - p->y0) * (p->py1 - p->py0);
}

static void xml_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		default:
			if ((unsigned char)*s >= 0x20)
				fputc(*s, f);
		}
	}
}

/* a "nice" step (1, 2 or 5 times a power of ten) giving about n ticks */
static double nice_step(double span, int n)
{
	double raw = span / n, p = pow(10, floor(log10(raw))), m = raw / p;
	return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

static void axis_label(int axis, double maxcost, double *scale, const char **label)
{
	switch (axis) {
	case FR_AXIS_PARAMS:
		*scale = maxcost >= 1e6 ? 1e6 : 1e3;
		*label = maxcost >= 1e6 ? "trainable parameters (M)" : "trainable parameters (k)";
		break;
	case FR_AXIS_MEMORY:
		*scale = maxcost >= 1e6 ? 1e6 : 1e3;
		*label = maxcost >= 1e6 ? "peak activation memory per image (MB)" : "peak activation memory per image (kB)";
		break;
	case FR_AXIS_LATENCY:
		*scale = 1;
		*label = "latency per image (ms)";
		break;
	default:
		*scale = maxcost >= 1e6 ? 1e6 : 1e3;
		*label = maxcost >= 1e6 ? "multiply-adds per image (M)" : "multiply-adds per image (k)";
	}
}

static void fmt_tick(char *b, size_t cap, double v)
{
	if (v != 0 && (fabs(v) >= 1e5 || fabs(v) < 1e-3))
		snprintf(b, cap, "%.0e", v);
	else
		snprintf(b, cap, "%.6g", v);
}

int fr_svg(const fr_frontier *fr, FILE *f, const fr_svg_opts *o)
{
	fr_svg_opts d;
	fr_svg_opts_default(&d);
	if (o)
		d = *o;
	if (d.width < 200 || d.height < 150 || d.width > 20000 || d.height > 20000 || !f)
		return FR_EINVAL;
	size_t n = fr->n;
	plot P;
	/* data ranges */
	double cmin = INFINITY, cmax = 0, cpos = INFINITY, emin = INFINITY, emax = 0;
	for (size_t i = 0; i < n; i++) {
		double c = fr_cost(fr, &fr->pts[i]), e = fr->pts[i].val_error;
		cmin = fmin(cmin, c), cmax = fmax(cmax, c);
		if (c > 0)
			cpos = fmin(cpos, c);
		emin = fmin(emin, e), emax = fmax(emax, e);
	}
	if (!n)
		cmin = 0, cmax = 1e6, cpos = 1, emin = 0, emax = 1;
	if (!isfinite(cpos))
		cpos = cmax > 0 ? cmax : 1;
	const char *xlabel;
	axis_label(fr->o.axis, cmax, &P.scale, &xlabel);
	P.lg = d.log_x >= 0 ? d.log_x : (cmax > 0 && cmax / cpos > 30);
	if (P.lg) {
		double lo = log10(cpos / P.scale), hi = log10((cmax > cpos ? cmax : cpos) / P.scale);
		P.x0 = floor(lo * 10) / 10 - 0.1, P.x1 = ceil(hi * 10) / 10 + 0.1;
	} else {
		double lo = cmin / P.scale, hi = cmax / P.scale, pad = (hi - lo) * 0.05;
		if (pad <= 0)
			pad = hi > 0 ? hi * 0.1 : 1;
		P.x0 = lo - pad < 0 && lo >= 0 ? 0 : lo - pad, P.x1 = hi + pad;
	}
	double ylo = 100 * emin, yhi = 100 * emax * (1 + fr->o.eps), ypad = (yhi - ylo) * 0.06;
	if (ypad <= 0)
		ypad = 1;
	P.y0 = ylo - ypad < 0 ? 0 : ylo - ypad, P.y1 = yhi + ypad;
	int W = d.width, H = d.height, legend_w = 225;
	P.px0 = 80, P.px1 = W - legend_w - 20, P.py0 = 50, P.py1 = H - 60;
	if (P.px1 - P.px0 < 50)
		return FR_EINVAL;

	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
		"font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">\n", W, H, W, H);
	fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", W, H);
	fprintf(f, "<text x=\"%d\" y=\"28\" text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\">", W / 2);
	xml_text(f, d.title ? d.title : "petri frontier");
	fprintf(f, " (%zu models, eps %.3g)</text>\n", n, fr->o.eps);

	/* clip path for data layers */
	fprintf(f, "<defs><clipPath id=\"plot\"><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/></clipPath></defs>\n",
		P.px0, P.py0, P.px1 - P.px0, P.py1 - P.py0);
	/* grid, ticks */
	fprintf(f, "<g stroke=\"#e3e3e3\" stroke-width=\"1\">\n");
	char tb[32];
	if (P.lg) {
		double span = P.x1 - P.x0;
		for (double k = floor(P.x0); k <= ceil(P.x1); k++)
			for (int m = 1; m <= 9; m++) {
				if (span > 2.5 && m != 1)
					continue;
				if (span > 1.2 && m != 1 && m != 2 && m != 5)
					continue;
				double v = k + log10(m);
				if (v < P.x0 || v > P.x1)
					continue;
				double x = P.px0 + (v - P.x0) / span * (P.px1 - P.px0);
				fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", x, P.py0, x, P.py1);
			}
	} else {
		double st = nice_step(P.x1 - P.x0, 8);
		for (double v = ceil(P.x0 / st) * st; v <= P.x1 + 1e-9 * st; v += st) {
			double x = P.px0 + (v - P.x0) / (P.x1 - P.x0) * (P.px1 - P.px0);
			fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", x, P.py0, x, P.py1);
		}
	}
	double yst = nice_step(P.y1 - P.y0, 8);
	for (double v = ceil(P.y0 / yst) * yst; v <= P.y1 + 1e-9 * yst; v += yst) {
		double y = P.py1 - (v - P.y0) / (P.y1 - P.y0) * (P.py1 - P.py0);
		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", P.px0, y, P.px1, y);
	}
	fprintf(f, "</g>\n<g font-size=\"11\" fill=\"#333333\">\n");
	if (P.lg) {
		double span = P.x1 - P.x0;
		for (double k = floor(P.x0); k <= ceil(P.x1); k++)
			for (int m = 1; m <= 9; m++) {
				if ((span > 2.5 && m != 1) || (span > 1.2 && m != 1 && m != 2 && m != 5))
					continue;
				double v = k + log10(m);
				if (v < P.x0 || v > P.x1)
					continue;
				double x = P.px0 + (v - P.x0) / span * (P.px1 - P.px0);
				fmt_tick(tb, sizeof tb, m * pow(10, k));
				fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n", x, P.py1 + 16, tb);
			}
	} else {
		double st = nice_step(P.x1 - P.x0, 8);
		for (double v = ceil(P.x0 / st) * st; v <= P.x1 + 1e-9 * st; v += st) {
			double x = P.px0 + (v - P.x0) / (P.x1 - P.x0) * (P.px1 - P.px0);
			fmt_tick(tb, sizeof tb, fabs(v) < 1e-12 * st ? 0 : v);
			fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n", x, P.py1 + 16, tb);
		}
	}
	for (double v = ceil(P.y0 / yst) * yst; v <= P.y1 + 1e-9 * yst; v += yst) {
		double y = P.py1 - (v - P.y0) / (P.y1 - P.y0) * (P.py1 - P.py0);
		fmt_tick(tb, sizeof tb, fabs(v) < 1e-12 * yst ? 0 : v);
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", P.px0 - 6, y + 4, tb);
	}
	fprintf(f, "</g>\n");
	fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#555555\"/>\n",
		P.px0, P.py0, P.px1 - P.px0, P.py1 - P.py0);
	fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" font-size=\"13\">%s%s</text>\n",
		(P.px0 + P.px1) / 2, H - 20, xlabel, P.lg ? ", log scale" : "");
	fprintf(f, "<text x=\"20\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"13\" "
		"transform=\"rotate(-90 20 %.1f)\">validation error (%%)</text>\n",
		(P.py0 + P.py1) / 2, (P.py0 + P.py1) / 2);

	fprintf(f, "<g clip-path=\"url(#plot)\">\n");
	const size_t *h = fr->hull.v;
	size_t nh = fr->hull.n;
	if (nh) {
		/* band: upper edge left to right, hull right to left */
		double right = P.lg ? pow(10, P.x1) * P.scale : P.x1 * P.scale;
		fprintf(f, "<polygon fill=\"#9ecae1\" fill-opacity=\"0.45\" stroke=\"none\" points=\"");
		for (size_t k = 0; k < nh; k++) {
			const fr_point *p = &fr->pts[h[k]];
			fprintf(f, "%.1f,%.1f ", tx(&P, fr_cost(fr, p)), ty(&P, p->val_error * (1 + fr->o.eps)));
		}
		fprintf(f, "%.1f,%.1f ", tx(&P, right), ty(&P, fr->pts[h[nh - 1]].val_error * (1 + fr->o.eps)));
		fprintf(f, "%.1f,%.1f ", tx(&P, right), ty(&P, fr->pts[h[nh - 1]].val_error));
		for (size_t k = nh; k-- > 0;) {
			const fr_point *p = &fr->pts[h[k]];
			fprintf(f, "%.1f,%.1f ", tx(&P, fr_cost(fr, p)), ty(&P, p->val_error));
		}
		fprintf(f, "\"/>\n");
	}
	/* all points, then band members over them */
	fprintf(f, "<g fill=\"#9a9a9a\" fill-opacity=\"0.7\">\n");
	for (size_t i = 0; i < n; i++) {
		const fr_point *p = &fr->pts[i];
		fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\"/>\n", tx(&P, fr_cost(fr, p)), ty(&P, p->val_error));
	}
	fprintf(f, "</g>\n<g fill=\"#2171b5\">\n");
	for (size_t k = 0; k < fr->nb; k++) {
		const fr_point *p = &fr->pts[fr->band[k].idx];
		fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\"/>\n", tx(&P, fr_cost(fr, p)), ty(&P, p->val_error));
	}
	fprintf(f, "</g>\n<g fill=\"none\" stroke=\"#f16913\" stroke-width=\"2\">\n");
	for (size_t i = 0; i < n; i++) {
		const fr_point *p = &fr->pts[i];
		if (p->expanded > 0)
			fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"6\"/>\n", tx(&P, fr_cost(fr, p)), ty(&P, p->val_error));
	}
	fprintf(f, "</g>\n");
	if (nh) {
		double right = P.lg ? pow(10, P.x1) * P.scale : P.x1 * P.scale;
		fprintf(f, "<polyline fill=\"none\" stroke=\"#08306b\" stroke-width=\"2\" points=\"");
		for (size_t k = 0; k < nh; k++) {
			const fr_point *p = &fr->pts[h[k]];
			fprintf(f, "%.1f,%.1f ", tx(&P, fr_cost(fr, p)), ty(&P, p->val_error));
		}
		fprintf(f, "%.1f,%.1f\"/>\n", tx(&P, right), ty(&P, fr->pts[h[nh - 1]].val_error));
		fprintf(f, "<g fill=\"#08306b\">\n");
		for (size_t k = 0; k < nh; k++) {
			const fr_point *p = &fr->pts[h[k]];
			fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"7\" height=\"7\"/>\n",
				tx(&P, fr_cost(fr, p)) - 3.5, ty(&P, p->val_error) - 3.5);
		}
		fprintf(f, "</g>\n");
	}
	if (d.pick >= 0 && (size_t)d.pick < n) {
		const fr_point *p = &fr->pts[d.pick];
		double x = tx(&P, fr_cost(fr, p)), y = ty(&P, p->val_error);
		fprintf(f, "<path d=\"M %.1f %.1f L %.1f %.1f L %.1f %.1f Z\" fill=\"#cb181d\" stroke=\"#67000d\"/>\n",
			x, y - 9, x - 8, y + 6, x + 8, y + 6);
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" fill=\"#cb181d\" font-weight=\"bold\">", x + 10, y - 8);
		xml_text(f, p->id);
		fprintf(f, "</text>\n");
	}
	fprintf(f, "</g>\n");

	/* legend */
	double lx = P.px1 + 20, ly = P.py0;
	fprintf(f, "<g font-size=\"12\">\n<rect x=\"%.1f\" y=\"%.1f\" width=\"%d\" height=\"150\" fill=\"#ffffff\" "
		"stroke=\"#999999\"/>\n", lx, ly, legend_w - 10);
	lx += 12, ly += 20;
	fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"#9a9a9a\"/><text x=\"%.1f\" y=\"%.1f\">trained model (%zu)</text>\n",
		lx + 8, ly, lx + 24, ly + 4, n);
	ly += 22;
	fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"#2171b5\"/><text x=\"%.1f\" y=\"%.1f\">eligible parent (%zu)</text>\n",
		lx + 8, ly, lx + 24, ly + 4, fr->nb);
	ly += 22;
	fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#08306b\" stroke-width=\"2\"/>"
		"<rect x=\"%.1f\" y=\"%.1f\" width=\"7\" height=\"7\" fill=\"#08306b\"/>"
		"<text x=\"%.1f\" y=\"%.1f\">lower convex hull (%zu)</text>\n",
		lx, ly, lx + 16, ly, lx + 4.5, ly - 3.5, lx + 24, ly + 4, nh);
	ly += 22;
	fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"16\" height=\"10\" fill=\"#9ecae1\" fill-opacity=\"0.6\"/>"
		"<text x=\"%.1f\" y=\"%.1f\">band: up to (1+%.3g) x hull</text>\n",
		lx, ly - 5, lx + 24, ly + 4, fr->o.eps);
	ly += 22;
	fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"6\" fill=\"none\" stroke=\"#f16913\" stroke-width=\"2\"/>"
		"<text x=\"%.1f\" y=\"%.1f\">chosen as parent</text>\n", lx + 8, ly, lx + 24, ly + 4);
	ly += 22;
	fprintf(f, "<path d=\"M %.1f %.1f L %.1f %.1f L %.1f %.1f Z\" fill=\"#cb181d\"/>"
		"<text x=\"%.1f\" y=\"%.1f\">picked model</text>\n",
		lx + 8, ly - 7, lx + 2, ly + 5, lx + 14, ly + 5, lx + 24, ly + 4);
	fprintf(f, "</g>\n</svg>\n");
	return ferror(f) ? FR_EIO : 0;
}
