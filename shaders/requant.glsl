/* SEMANTICS.md's requantization of one int32 accumulator, shared by every kernel so that they
 * cannot drift apart. The including shader defines BIAS_MODE (0 none, 1 float, 2 int32: a
 * specialization constant, so the unused path folds away) before including this file.
 *
 * ch: the channel's params (x = z_x * wsum, with z_x - 128 for uint8 input, minus the int32 bias
 * in BIAS_INT32 mode; y = eff bits; z = float bias bits). Every operation is one correctly rounded
 * binary32 operation in the specified order; `precise` forbids fusing the multiply and the add.
 * Returns the output byte: qmin and qmax bound q to the output type's range, int8 or uint8, whose
 * value the low byte of int(q) then is. */
uint requant_byte(int acc, uvec4 ch, float inv_y, float z_y, float qmin, float qmax)
{
    precise float v;
    precise float r;
    if (BIAS_MODE == 2) {
        v = float(acc - int(ch.x)) * uintBitsToFloat(ch.y);
        r = roundEven(v);
    } else {
        v = float(acc - int(ch.x)) * uintBitsToFloat(ch.y);
        if (BIAS_MODE == 1)
            v = v + uintBitsToFloat(ch.z);
        r = roundEven(v * inv_y);
    }
    precise float q = clamp(r + z_y, qmin, qmax);
    return uint(int(q)) & 0xFFu;
}
