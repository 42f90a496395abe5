// x08_ball_chrome_checker: mirror-chrome ball on a plinth, checkered floor and striped wall reflected in it
#include "common.inc"
#include "products.inc"
#include "hard-products.inc"

FrameAt(<0, 1.05, 0>, 2.1, 30, -15, 15)
KeyLight(<-4, 7, -5>, 1.0, 3, 4)
FillLight(<5, 3, -6>, 0.35)
#if (!MASK)
  FloorAndWall(texture { pigment { checker rgb <0.9, 0.2, 0.1> rgb 0.95 scale 0.4 } finish { ambient 0.05 diffuse 0.8 } },
               texture { pigment { gradient x color_map { [0 rgb <0.1, 0.3, 0.8>] [0.5 rgb <0.1, 0.3, 0.8>] [0.5 rgb 0.9] [1 rgb 0.9] } scale 0.3 } finish { ambient 0.1 diffuse 0.8 } }, 2.5)
#end
union {
  cylinder { <0, 0.002, 0>, <0, 0.35, 0>, 0.45 texture { pigment { rgb 0.05 } finish { F_Satin } } }
  sphere { <0, 1.2, 0>, 0.86 texture { T_Chrome_5E } }
}
