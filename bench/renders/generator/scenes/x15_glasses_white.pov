// x15_glasses_white: black eyeglasses (thin temples, clear lenses) on a white sweep
#include "common.inc"
#include "products.inc"
#include "hard-products.inc"

FrameAt(<0, 0.3, 0.6>, 2.2, 30, -25, 30)
KeyLight(<-4, 7, -5>, 1.0, 3, 4)
FillLight(<5, 3, -6>, 0.35)
#if (!MASK) Sweep(Paper(rgb 1, 0.35), 4, 2) #end
object { Eyeglasses(texture { pigment { rgb 0.02 } finish { F_Plastic } }, <0.95, 0.97, 1.0>) }
