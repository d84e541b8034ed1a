#version 450
/* The dispatch floor (roofline.c, bench_floor_measure): one invocation that reads nothing and
 * writes nothing, so that a chain of these dispatches costs only what any dispatch costs: the
 * launch, the drain a barrier waits for, the barrier itself. A layer of a network recorded the
 * same way cannot cost less. */

layout(local_size_x = 1) in;

void main()
{
}
