// x23_ornament_glossy_black: silver ornament on a polished black floor (mirror image belongs to the background)
#include "common.inc"
#include "products.inc"
#include "hard-products.inc"

FrameAt(<0, 1.1, 0>, 2.4, 30, 10, 10)
KeyLight(<-4, 7, -5>, 1.0, 3, 4)
FillLight(<5, 3, -6>, 0.35)
#if (!MASK) GlossyFloor(rgb 0.01, 0.5, rgb 0.18, 4) #end
object { Ornament(texture { T_Silver_3C }, texture { T_Gold_3C }) }
