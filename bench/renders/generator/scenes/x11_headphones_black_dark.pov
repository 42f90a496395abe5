// x11_headphones_black_dark: black headphones on a black sweep, one soft key light
#include "common.inc"
#include "products.inc"
#include "hard-products.inc"

FrameAt(<0, 0.9, 0>, 2.1, 30, 20, 14)
KeyLight(<-4, 7, -5>, 0.9, 3, 4)
#if (!MASK) Sweep(Paper(rgb 0.03, 0.1), 3, 2) #end
object { Headphones(texture { pigment { rgb 0.02 } finish { F_Satin } }, texture { pigment { rgb 0.05 } finish { F_Matte } }) rotate y*-20 }
