// x09_trophy_chrome_beige: chrome trophy cup on a black base, beige sweep
#include "common.inc"
#include "products.inc"
#include "hard-products.inc"

FrameAt(<0, 1.4, 0>, 2.8, 30, 15, 12)
KeyLight(<-4, 7, -5>, 1.0, 3, 4)
FillLight(<5, 3, -6>, 0.35)
#if (!MASK) Sweep(Paper(rgb <0.85, 0.78, 0.65>, 0.3), 3, 2) #end
object { Trophy(texture { T_Chrome_3C }, texture { pigment { rgb 0.02 } finish { F_Plastic } }) rotate y*15 }
