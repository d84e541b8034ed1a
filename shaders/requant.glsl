/* SEMANTICS.md's requantization of one int32 accumulator, shared by every kernel so that they
 * cannot drift apart. The including shader defines BIAS_MODE (0 none, 1 float, 2 int32: a
 * specialization constant, so the unused path folds away) before including this file.
 *
 * ch: the channel's params (x = z_x * wsum, with z_x - 128 for uint8 input, minus the int32 bias
 * in BIAS_INT32 mode; y = eff bits; z = float bias bits). Every operation is one correctly rounded
 * binary32 operation in the specified order; `precise` forbids fusing the multiply and the add.
 * Returns the output byte: qmin and qmax bound q to the output type's range, int8 or uint8, whose
 * value the low byte of int(q) then is. */
/* The conversions are done with float additions, not conversion instructions: on NVIDIA's GPUs
 * (Hopper included) int <-> float conversions and roundEven run at an eighth of the rate of a float
 * add, and three of them per output element made the requantization the largest part of the
 * matrix kernel's epilogue (bench/RESULTS.md: the stage ablations). The results are the same bits:
 *  - float(d) stays a conversion (correctly rounded for every int32). Doing it with adds too, for
 *    |d| < 2^22 behind a range check, measured slower on the H200 (the branch costs more than the
 *    conversion; bench/RESULTS.md, call 2).
 *  - roundEven(x): t = x + 1.5 * 2^23 is rounded to an integer by the add itself (round to nearest
 *    even; the ulp there is 1 and 1.5 * 2^23 is even, so the tie goes to the even integer) and
 *    equals roundEven(x) + 1.5 * 2^23 for |x| < 2^22. For |x| >= 2^22 it is still at or beyond
 *    the clamp bounds on the same side, so the clamped result is the same.
 *  - clamp(r + z_y, qmin, qmax) is done on t + z_y against bounds moved by 1.5 * 2^23 (all exact
 *    integer-valued adds), and the low byte of int(q) is the low byte of that float's bits: its
 *    mantissa is 2^22 + q, and 2^22 has a zero low byte.
 * `precise` keeps every add and multiply a separate correctly rounded operation, in this order. */
const float Q8CONV_RNE_SHIFT = 12582912.0; /* 1.5 * 2^23 */

uint requant_byte(int acc, uvec4 ch, float inv_y, float z_y, float qmin, float qmax)
{
    const int d = acc - int(ch.x);
    precise float v;
    v = float(d);
    precise float x = v * uintBitsToFloat(ch.y);
    if (BIAS_MODE == 1)
        x = x + uintBitsToFloat(ch.z);
    if (BIAS_MODE != 2)
        x = x * inv_y;
    precise float t = x + Q8CONV_RNE_SHIFT;
    precise float u = t + z_y;
    precise float q = clamp(u, Q8CONV_RNE_SHIFT + qmin, Q8CONV_RNE_SHIFT + qmax);
    return floatBitsToUint(q) & 0xFFu;
}
