// x31_mug_brick: blue mug on a wooden table in front of a brick wall
#include "common.inc"
#include "products.inc"
#include "hard-products.inc"

FrameAt(<0.2, 0.55, 0>, 1.5, 30, -15, 12)
KeyLight(<-4, 7, -5>, 1.0, 3, 4)
FillLight(<5, 3, -6>, 0.3)
#if (!MASK)
  FloorAndWall(texture { T_Wood1 scale 0.4 rotate y*90 finish { specular 0.3 roughness 0.02 } },
               texture { pigment { brick color rgb 0.75 color rgb <0.55, 0.2, 0.1> brick_size <0.5, 0.18, 0.5> mortar 0.03 } finish { ambient 0.12 diffuse 0.8 } }, 1.5)
#end
object { Mug(texture { pigment { rgb <0.05, 0.15, 0.55> } finish { F_Ceramic } }, texture { pigment { rgb 0.9 } finish { F_Ceramic } }) rotate y*135 }
