// x14_fan_white_blue: desk fan: thin blades behind a wire guard, pale blue sweep
#include "common.inc"
#include "products.inc"
#include "hard-products.inc"

FrameAt(<0, 1.5, 0>, 3.1, 30, -15, 8)
KeyLight(<-4, 7, -5>, 1.0, 3, 4)
FillLight(<5, 3, -6>, 0.35)
#if (!MASK) Sweep(Paper(rgb <0.6, 0.75, 0.9>, 0.3), 3, 2) #end
object { DeskFan(texture { pigment { rgb 0.95 } finish { F_Plastic } }, texture { pigment { rgb 0.9 } finish { F_Plastic } }, texture { T_Chrome_3C }) }
