// x29_basket_wire_wood: black wire basket (mesh: the floor shows through) on a wooden floor
#include "common.inc"
#include "products.inc"
#include "hard-products.inc"

FrameAt(<0, 0.55, 0>, 1.9, 30, 10, 25)
KeyLight(<-4, 7, -5>, 1.0, 3, 4)
FillLight(<5, 3, -6>, 0.35)
#if (!MASK)
  FloorAndWall(texture { T_Wood1 scale 0.4 rotate y*90 finish { specular 0.3 roughness 0.02 } }, texture { pigment { rgb 0.85 } finish { ambient 0.15 diffuse 0.7 } }, 2.5)
#end
object { WireBasket(texture { pigment { rgb 0.03 } finish { F_Satin } }, 0.6, 0.8, 1.1, 36, 6) }
