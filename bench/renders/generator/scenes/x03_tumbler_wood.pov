// x03_tumbler_wood: clear tumbler on a wooden table, stucco wall
#include "common.inc"
#include "products.inc"
#include "hard-products.inc"

FrameAt(<0, 0.65, 0>, 1.5, 30, 15, 18)
HardLight(<-4, 7, -5>, 1.0)
FillLight(<5, 3, -6>, 0.35)
#if (!MASK)
  FloorAndWall(texture { T_Wood1 scale 0.3 rotate y*90 finish { specular 0.3 roughness 0.02 } },
               texture { pigment { rgb <0.80, 0.72, 0.58> } normal { granite 0.35 scale 0.4 } finish { ambient 0.15 diffuse 0.75 } }, 1.5)
#end
object { Tumbler(<0.9, 0.95, 1.0>) }
