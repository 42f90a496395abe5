// x27_furball_white_grey: white pom-pom (fur) on a mid-grey sweep
#include "common.inc"
#include "products.inc"
#include "hard-products.inc"

FrameAt(<0, 0.84, 0>, 1.8, 30, 0, 10)
KeyLight(<-4, 7, -5>, 1.0, 3, 4)
FillLight(<5, 3, -6>, 0.35)
#if (!MASK) Sweep(Paper(rgb 0.45, 0.25), 3, 2) #end
object { FurBall(texture { pigment { rgb <0.95, 0.93, 0.9> } finish { ambient 0.1 diffuse 0.8 } }, 3000, 11) }
