// x33_boot_bookshelf: brown boot on a wooden floor in front of a wall of coloured books
#include "common.inc"
#include "products.inc"
#include "hard-products.inc"

FrameAt(<0, 0.9, 0>, 2.5, 30, 20, 10)
KeyLight(<-4, 7, -5>, 1.0, 3, 4)
FillLight(<5, 3, -6>, 0.35)
#if (!MASK)
  box { <-200, -1, -200>, <200, 0, 3> texture { T_Wood2 scale 0.4 rotate y*90 finish { specular 0.2 roughness 0.03 } } }
  Bookshelf(3, 9)
#end
object { Boot(texture { pigment { rgb <0.22, 0.09, 0.03> } normal { bumps 0.2 scale 0.03 } finish { F_Satin } }, texture { pigment { rgb 0.03 } finish { F_Matte } }) rotate y*-30 }
