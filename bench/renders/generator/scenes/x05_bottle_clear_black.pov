// x05_bottle_clear_black: clear green-tinted bottle on a black sweep, rim lights
#include "common.inc"
#include "products.inc"
#include "hard-products.inc"

FrameAt(<0, 1.62, 0>, 3.3, 30, -6, 8)
HardLight(<-3, 6, -5>, 0.7)
HardLight(<4, 4, 4>, 0.8)
HardLight(<-4, 4, 4>, 0.8)
#if (!MASK) Sweep(Paper(rgb 0.03, 0.1), 3, 2) #end
object { ClearBottle(<0.6, 0.9, 0.7>, texture { pigment { rgb 0.9 } finish { F_Plastic } }) }
