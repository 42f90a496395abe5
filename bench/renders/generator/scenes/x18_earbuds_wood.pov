// x18_earbuds_wood: white earbuds with a thin cable on a wooden table
#include "common.inc"
#include "products.inc"
#include "hard-products.inc"

FrameAt(<0, 0, 0.7>, 2.3, 30, 10, 55)
KeyLight(<-4, 7, -5>, 1.0, 3, 4)
FillLight(<5, 3, -6>, 0.35)
#if (!MASK)
  FloorAndWall(texture { T_Wood2 scale 0.4 rotate y*90 finish { specular 0.3 roughness 0.02 } }, texture { pigment { rgb 0.8 } }, 5)
#end
object { Earbuds(texture { pigment { rgb 0.95 } finish { F_Plastic } }, texture { pigment { rgb 0.92 } finish { F_Satin } }) }
