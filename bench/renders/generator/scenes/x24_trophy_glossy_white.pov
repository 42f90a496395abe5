// x24_trophy_glossy_white: gold trophy on a glossy white floor with a mirror image
#include "common.inc"
#include "products.inc"
#include "hard-products.inc"

FrameAt(<0, 1.4, 0>, 2.8, 30, -12, 8)
KeyLight(<-4, 7, -5>, 1.0, 3, 4)
FillLight(<5, 3, -6>, 0.35)
#if (!MASK) GlossyFloor(rgb 0.9, 0.4, rgb 0.75, 4) #end
object { Trophy(texture { T_Gold_1C }, texture { pigment { rgb 0.02 } finish { F_Plastic } }) rotate y*25 }
