// x22_candle_hardshadow_grey: dark red candle lit by two hard lights: two crossing shadows on grey
#include "common.inc"
#include "products.inc"
#include "hard-products.inc"

FrameAt(<0, 1.05, 0>, 2.3, 30, 0, 18)
HardLight(<-5, 5, -4>, 0.7)
HardLight(<5, 5, -4>, 0.6)
#if (!MASK) Sweep(Paper(rgb 0.7, 0.2), 3, 2) #end
object { Candle(texture { pigment { rgb <0.45, 0.03, 0.05> } finish { ambient 0.1 diffuse 0.8 specular 0.15 roughness 0.05 } }) }
