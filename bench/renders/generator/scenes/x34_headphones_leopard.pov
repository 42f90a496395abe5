// x34_headphones_leopard: tan headphones on a leopard-print backdrop
#include "common.inc"
#include "products.inc"
#include "hard-products.inc"

FrameAt(<0, 0.9, 0>, 2.1, 30, -15, 14)
KeyLight(<-4, 7, -5>, 1.0, 3, 4)
FillLight(<5, 3, -6>, 0.35)
#if (!MASK)
  Sweep(texture { pigment { leopard turbulence 0.5 color_map { [0 rgb <0.85, 0.6, 0.3>] [0.55 rgb <0.85, 0.6, 0.3>] [0.6 rgb <0.2, 0.1, 0.03>] [1 rgb <0.05, 0.03, 0.01>] } scale 0.06 } finish { ambient 0.25 diffuse 0.7 } }, 3, 2)
#end
object { Headphones(texture { pigment { rgb <0.6, 0.42, 0.25> } finish { F_Satin } }, texture { pigment { rgb <0.3, 0.2, 0.12> } finish { F_Matte } }) rotate y*25 }
