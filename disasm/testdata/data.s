# Data symbols in executable sections are dumped as hex and ASCII; code
# symbols at the same address win; bytes that are not instructions, runs of
# zeros and sections that end in the middle of an instruction.
	.text
	.type dd,@object
dd:
	r0 = 1
	exit
	.type ee,@object
ee:
	.type ff,@object
ff:
	r0 = 2
	r1 = 0x100000000 ll
	.byte 1,2,3
	.type gg,@function
gg:
	exit
	.byte 0,0,0,0,0,0,0,0,0,0,0,0,0,0,0
	exit
	.byte 0,0,0,0,0,0,0

	.section s2,"ax",@progbits
	.type hh,@common
hh:
	exit
	.ascii "Hello, BPF!\n\x7f\x80 ~"

	.section s3,"ax",@progbits
	.type ee3,@object
ee3:
	exit
	.type ff3,@function
ff3:
	exit
	.type gg3,@object
gg3:
	exit

	.section s4,"ax",@nobits
	.zero 16

	.section s5,"a",@progbits
	exit

	.section s6,"ax",@progbits
	.byte 0,0,0,0,0,0,0,0,0,0,0,0,1
	r1 = 0x5 ll
	.byte 0x18,0x01,0,0,5,0,0,0,0,0x21,0x03,0,9,0,0,0
	.byte 0x18,0x01,1,0,5,0,0,0,0,0,0,0,0,0,0,0
	.byte 0x18,0x0c,0,0,5,0,0,0,0,0,0,0,0,0,0,0
	.byte 0x18,0x01,0,0,5,0,0,0,0,0,0
