// x35_furball_brown_wood: brown pom-pom (fur) on a wooden table, stucco wall
#include "common.inc"
#include "products.inc"
#include "hard-products.inc"

FrameAt(<0, 0.84, 0>, 1.8, 30, 15, 15)
KeyLight(<-4, 7, -5>, 1.0, 3, 4)
FillLight(<5, 3, -6>, 0.35)
#if (!MASK)
  FloorAndWall(texture { T_Wood1 scale 0.4 rotate y*90 finish { specular 0.3 roughness 0.02 } },
               texture { pigment { rgb <0.80, 0.72, 0.58> } normal { granite 0.35 scale 0.4 } finish { ambient 0.15 diffuse 0.75 } }, 2)
#end
object { FurBall(texture { pigment { rgb <0.35, 0.2, 0.1> } finish { ambient 0.1 diffuse 0.8 } }, 3000, 23) }
