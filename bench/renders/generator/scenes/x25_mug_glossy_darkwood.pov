// x25_mug_glossy_darkwood: red mug on polished dark wood that mirrors it
#include "common.inc"
#include "products.inc"
#include "hard-products.inc"

FrameAt(<0.2, 0.55, 0>, 1.5, 30, 15, 10)
KeyLight(<-4, 7, -5>, 1.0, 3, 4)
FillLight(<5, 3, -6>, 0.35)
#if (!MASK)
  union {
    box { <-200, -1, -200>, <200, 0, 3> texture { T_Wood10 scale 0.4 rotate y*90 finish { ambient 0.05 diffuse 0.5 specular 0.6 roughness 0.008 reflection { 0.35 } } } }
    box { <-200, -1, 3>, <200, 300, 4> texture { pigment { rgb <0.6, 0.58, 0.55> } finish { ambient 0.2 diffuse 0.7 } } }
  }
#end
object { Mug(texture { pigment { rgb <0.6, 0.04, 0.04> } finish { F_Ceramic } }, texture { pigment { rgb 0.9 } finish { F_Ceramic } }) rotate y*120 }
