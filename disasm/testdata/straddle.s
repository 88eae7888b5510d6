# A 64-bit load runs across the next symbol, which then starts in its
# middle; symbols at odd addresses; a symbol past the end of its section.
	.section prog,"ax",@progbits
	.type first,@function
first:
	r1 = 0x1122334455667788 ll
	.type inner,@function
	.set inner, first+8
	exit
	.type odd,@function
odd:
	.byte 0xb7
	exit
	.byte 0,0,0,0,0,0,0
	goto +0
	.type last,@function
last:
	if r1 > 0x2 goto +0x3fff
	if r1 > 0x2 goto -0x3
	.type after,@function
	.set after, last+0x1000
