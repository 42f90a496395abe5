// x01_bottle_clear_white: clear glass water bottle with a blue cap on a white sweep
#include "common.inc"
#include "products.inc"
#include "hard-products.inc"

FrameAt(<0, 1.62, 0>, 3.3, 30, 10, 10)
HardLight(<-4, 7, -5>, 1.0)
FillLight(<5, 3, -6>, 0.35)
FillLight(<0, 5, 5>, 0.3)
#if (!MASK) Sweep(Paper(rgb 1, 0.35), 3, 2) #end
object { ClearBottle(<0.85, 0.95, 0.9>, texture { pigment { rgb <0.05, 0.25, 0.7> } finish { F_Plastic } }) }
