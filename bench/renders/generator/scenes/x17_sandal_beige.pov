// x17_sandal_beige: flat sandal with thin straps on beige paper
#include "common.inc"
#include "products.inc"
#include "hard-products.inc"

FrameAt(<0, 0.1, 0>, 1.9, 30, -30, 35)
KeyLight(<-4, 7, -5>, 1.0, 3, 4)
FillLight(<5, 3, -6>, 0.35)
#if (!MASK) Sweep(Paper(rgb <0.85, 0.75, 0.6>, 0.3), 3, 2) #end
object { Sandal(texture { pigment { rgb <0.75, 0.6, 0.42> } finish { F_Matte } }, texture { pigment { rgb <0.35, 0.16, 0.06> } finish { F_Satin } }) rotate y*20 }
