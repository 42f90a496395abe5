// x32_bottle_foliage: green wine bottle on stone in front of a hedge of leaves
#include "common.inc"
#include "products.inc"
#include "hard-products.inc"

FrameAt(<0, 1.65, 0>, 3.4, 30, -8, 8)
KeyLight(<-4, 7, -5>, 1.0, 3, 4)
FillLight(<5, 3, -6>, 0.35)
#if (!MASK)
  box { <-200, -1, -200>, <200, 0, 3> texture { T_Stone8 scale 0.6 finish { ambient 0.1 diffuse 0.7 } } }
  Foliage(3, 2500, 3)
#end
object { WineBottle(texture { pigment { rgb <0.03, 0.15, 0.04> } finish { ambient 0.05 diffuse 0.6 specular 0.9 roughness 0.003 reflection { 0.08, 0.4 fresnel on } } },
                    texture { pigment { rgb <0.92, 0.86, 0.70> } finish { F_Matte } }, texture { pigment { rgb <0.35, 0.02, 0.06> } finish { F_Plastic } }) rotate y*-10 }
