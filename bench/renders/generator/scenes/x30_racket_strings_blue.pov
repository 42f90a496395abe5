// x30_racket_strings_blue: tennis racket: a string mesh the backdrop shows through, blue sweep
#include "common.inc"
#include "products.inc"
#include "hard-products.inc"

FrameAt(<0, 1.5, 0>, 3.1, 30, -15, 6)
KeyLight(<-4, 7, -5>, 1.0, 3, 4)
FillLight(<5, 3, -6>, 0.35)
#if (!MASK) Sweep(Paper(rgb <0.2, 0.35, 0.7>, 0.3), 3, 2) #end
object { Racket(texture { pigment { rgb <0.9, 0.9, 0.92> } finish { F_Plastic } }, texture { pigment { rgb <0.9, 0.95, 0.3> } finish { F_Satin } },
                texture { pigment { rgb 0.1 } finish { F_Matte } }) }
