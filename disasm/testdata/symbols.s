# Several symbols per section, chosen and ordered the way llvm-objdump does:
# at one address the heading names the last symbol by name that is not a data
# symbol; jumps name the last symbol at or below their target; sections
# without a symbol at their start get one named after them; empty sections
# print nothing.
	.text
	.globl zeta
	.type zeta,@function
zeta:
	.globl alpha
	.type alpha,@function
alpha:
mid:
	r0 = 1
	if r0 == 0 goto lab
	goto lab2
lab:
	r0 = 2
lab2:
	exit

	.section prog2,"ax",@progbits
	r0 = 0
foo:
	exit
	call foo
	goto +0
	gotol -3
	may_goto +1
	if w1 s> w2 goto -0x8000

	.section prog3,"ax",@progbits

	.section prog4,"ax",@progbits
	.globl b1
	.type b1,@object
b1:
	.globl a1
a1:
	.local c1
	.type c1,@function
c1:
	r0 = 3
	exit

	.section prog5,"ax",@progbits
	.type aa,@function
aa:
zz:
	r0 = 1
	.globl yy
	.type yy,@object
yy:
	.type bb,@function
bb:
	r0 = 2
	.weak ww
ww:
	.local vv
vv:
	.type vv,@function
	exit
	.size ww, 8
	.type tt,@tls_object
tt:
	exit
	.type ii,@gnu_indirect_function
ii:
	exit
	goto +5
end:
