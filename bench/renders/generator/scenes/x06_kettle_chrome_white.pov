// x06_kettle_chrome_white: chrome kettle with a black handle on a white sweep
#include "common.inc"
#include "products.inc"
#include "hard-products.inc"

FrameAt(<0.2, 0.9, 0>, 1.9, 30, 20, 14)
KeyLight(<-4, 7, -5>, 1.0, 3, 4)
FillLight(<5, 3, -6>, 0.35)
#if (!MASK) Sweep(Paper(rgb 1, 0.35), 3, 2) #end
object { Kettle(texture { T_Chrome_3C }, texture { pigment { rgb 0.02 } finish { F_Plastic } }) }
