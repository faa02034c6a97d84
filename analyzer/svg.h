/* svg: a tiny SVG writer (no dependencies); text is escaped here. */
#ifndef ANALYZER_SVG_H
#define ANALYZER_SVG_H

#include <stdio.h>

struct svg;

struct svg *svg_new(FILE *out, int width, int height);
/* Closes the document; 0 when everything was written. Frees svg. */
int svg_finish(struct svg *svg);
void svg_rect(struct svg *svg, double x, double y, double w, double h, const char *fill);
void svg_line(struct svg *svg, double x1, double y1, double x2, double y2,
    const char *stroke, double width);
/* anchor: "start", "middle" or "end"; rotate in degrees about (x, y). */
void svg_text(struct svg *svg, double x, double y, const char *anchor, int size,
    const char *weight, double rotate, const char *text);
/* A group with an id, a data-service attribute and a tooltip title. */
void svg_group_open(struct svg *svg, const char *id, const char *service);
void svg_group_close(struct svg *svg);

#endif
