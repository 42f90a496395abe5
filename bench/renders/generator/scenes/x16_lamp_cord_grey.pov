// x16_lamp_cord_grey: desk lamp with thin arms and a cord on the floor, grey sweep
#include "common.inc"
#include "products.inc"
#include "hard-products.inc"

FrameAt(<0.3, 1.1, 0.5>, 2.9, 30, 15, 20)
KeyLight(<-4, 7, -5>, 1.0, 3, 4)
FillLight(<5, 3, -6>, 0.35)
#if (!MASK) Sweep(Paper(rgb 0.6, 0.25), 4, 2) #end
object { DeskLamp(texture { pigment { rgb <0.1, 0.3, 0.2> } finish { F_Plastic } }, texture { pigment { rgb <0.1, 0.3, 0.2> } finish { F_Plastic } },
                  texture { pigment { rgb 0.05 } finish { F_Satin } }) }
