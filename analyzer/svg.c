#include "svg.h"

#include <stdlib.h>

struct svg {
	FILE *out;
	int depth;
};

static void
escape(FILE *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&apos;", out); break;
		default:
			/* Control characters are not allowed in XML 1.0. */
			fputc((unsigned char)*s < 0x20 ? '?' : *s, out);
		}
	}
}

struct svg *
svg_new(FILE *out, int width, int height)
{
	struct svg *svg = calloc(1, sizeof(*svg));

	if (!svg)
		return NULL;
	svg->out = out;
	fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
	    "viewBox=\"0 0 %d %d\" font-family=\"DejaVu Sans, Verdana, sans-serif\">\n",
	    width, height, width, height);
	svg_rect(svg, 0, 0, width, height, "#ffffff");
	return svg;
}

int
svg_finish(struct svg *svg)
{
	if (!svg)
		return -1;
	while (svg->depth > 0)
		svg_group_close(svg);
	fputs("</svg>\n", svg->out);
	int err = ferror(svg->out) ? -1 : 0;
	free(svg);
	return err;
}

void
svg_rect(struct svg *svg, double x, double y, double w, double h, const char *fill)
{
	fprintf(svg->out, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"",
	    x, y, w, h);
	escape(svg->out, fill);
	fputs("\"/>\n", svg->out);
}

void
svg_line(struct svg *svg, double x1, double y1, double x2, double y2,
    const char *stroke, double width)
{
	fprintf(svg->out, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" "
	    "stroke-width=\"%.2f\" stroke=\"", x1, y1, x2, y2, width);
	escape(svg->out, stroke);
	fputs("\"/>\n", svg->out);
}

void
svg_text(struct svg *svg, double x, double y, const char *anchor, int size,
    const char *weight, double rotate, const char *text)
{
	fprintf(svg->out, "<text x=\"%.2f\" y=\"%.2f\" font-size=\"%d\" text-anchor=\"%s\" "
	    "font-weight=\"%s\" fill=\"#222222\"", x, y, size, anchor, weight);
	if (rotate != 0)
		fprintf(svg->out, " transform=\"rotate(%.1f %.2f %.2f)\"", rotate, x, y);
	fputc('>', svg->out);
	escape(svg->out, text);
	fputs("</text>\n", svg->out);
}

void
svg_group_open(struct svg *svg, const char *id, const char *service)
{
	fputs("<g id=\"", svg->out);
	escape(svg->out, id);
	fputs("\" class=\"series\" data-service=\"", svg->out);
	escape(svg->out, service);
	fputs("\"><title>", svg->out);
	escape(svg->out, service);
	fputs("</title>\n", svg->out);
	svg->depth++;
}

void
svg_group_close(struct svg *svg)
{
	fputs("</g>\n", svg->out);
	svg->depth--;
}
