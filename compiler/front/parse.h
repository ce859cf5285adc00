/* parse.h — text to AST: runs the re2c lexer and the Lemon parser. */
#ifndef TNS_PARSE_H
#define TNS_PARSE_H
#include "ast.h"

/* Parses a whole file into a BLOCK of top-level statements. Errors go to
 * ast->diag; the result is NULL only when nothing could be parsed. */
Node *parse_source(Ast *ast, const Source *src);

/* True when the text has nothing but whitespace and comments, or an
 * unclosed bracket or block at its end: the REPL asks for more input. */
int parse_is_incomplete(const char *text);

/* Prints every token of src, one per line (`tnsc emit tokens`). */
void parse_dump_tokens(Ast *ast, const Source *src, FILE *out);

/* Reads a file into a Source allocated in arena; NULL with a message on
 * failure (missing, unreadable, NUL bytes are kept and reported later). */
Source *source_load(Arena *a, DiagSink *d, const char *path);
Source *source_from_string(Arena *a, const char *path, const char *text);

#endif
