// x12_boot_black_brown: black leather boot on a dark brown sweep
#include "common.inc"
#include "products.inc"
#include "hard-products.inc"

FrameAt(<0, 0.9, 0>, 2.5, 30, -20, 14)
KeyLight(<-4, 7, -5>, 1.0, 3, 4)
FillLight(<5, 3, -6>, 0.25)
#if (!MASK) Sweep(Paper(rgb <0.07, 0.04, 0.025>, 0.1), 3, 2) #end
object { Boot(texture { pigment { rgb 0.02 } normal { bumps 0.2 scale 0.03 } finish { F_Satin } }, texture { pigment { rgb 0.01 } finish { F_Matte } }) rotate y*-30 }
