# embed.cmake - a file as a C array: cmake -DIN=FILE -DOUT=FILE.c -DNAME=SYM -P embed.cmake
# writes "const unsigned char SYM[] = {...}; const size_t SYM_len = N;"
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" n)
math(EXPR bytes "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" body "${body}")
file(WRITE ${OUT}.tmp "/* made from ${IN} by tools/embed.cmake */\n#include <stddef.h>\nconst unsigned char ${NAME}[] = {\n${body}0 };\nconst size_t ${NAME}_len = ${bytes};\n")
file(RENAME ${OUT}.tmp ${OUT})
