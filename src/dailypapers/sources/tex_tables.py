"""TeX's text-mode commands and what they stand for: accents (as Unicode combining marks), letters written
as commands, words and symbols, styles and declarations, and the math commands met outside formulas with
how many arguments they take. Data only; `latex` reads text with them and `names` decodes names."""

from __future__ import annotations

ACCENTS = {"`": "\u0300", "'": "\u0301", "^": "\u0302", "~": "\u0303", "=": "\u0304", ".": "\u0307", '"': "\u0308"}
ACCENTS.update({"u": "\u0306", "r": "\u030a", "H": "\u030b", "v": "\u030c", "d": "\u0323", "c": "\u0327"})
ACCENTS.update({"k": "\u0328", "b": "\u0331", "t": "\u0361"})
LETTERS = {"ss": "ß", "aa": "å", "AA": "Å", "ae": "æ", "AE": "Æ", "oe": "œ", "OE": "Œ", "o": "ø", "O": "Ø"}
LETTERS.update({"l": "ł", "L": "Ł", "i": "ı", "j": "ȷ", "dh": "ð", "DH": "Ð", "th": "þ", "TH": "Þ", "ng": "ŋ"})
LETTERS.update({"NG": "Ŋ", "S": "§", "P": "¶", "dag": "†", "ddag": "‡"})
WORDS = {"eg": "e.g.", "ie": "i.e.", "etal": "et al.", "etc": "etc.", "vs": "vs.", "cf": "cf.", "wrt": "w.r.t."}
WORDS.update({"LaTeX": "LaTeX", "TeX": "TeX", "BibTeX": "BibTeX", "LaTeXe": "LaTeX2ε", "ldots": "…", "dots": "…"})
WORDS.update({"textellipsis": "…", "textendash": "–", "textemdash": "—", "copyright": "©", "textcopyright": "©"})
WORDS.update({"textregistered": "®", "texttrademark": "™", "textdegree": "°", "pounds": "£", "euro": "€"})
WORDS.update({"textasciitilde": "~", "textasciicircum": "^", "textbackslash": "\\", "textbar": "|"})
WORDS.update({"textless": "<", "textgreater": ">", "textunderscore": "_", "textbullet": "•", "textquoteleft": "‘"})
WORDS.update({"textquoteright": "’", "textquotedblleft": "“", "textquotedblright": "”", "guillemotleft": "«"})
WORDS.update({"guillemotright": "»", "newline": " ", "linebreak": " ", "par": " ", "quad": " ", "qquad": " "})
WORDS.update(dict.fromkeys(str.split("noindent xspace relax protect centering smallskip medskip bigskip"), ""))
WORDS.update(dict.fromkeys(str.split("hfill footnotesize small large Large normalsize displaystyle"), ""))
# Commands whose {argument} is text in a style ("" for none), and declarations that style the rest of a group.
STYLES = {"textbf": "b", "textit": "i", "textsl": "i", "emph": "em", "texttt": "tt", "textsc": "sc"}
STYLES.update({"underline": "u", "uline": "u", "textsuperscript": "sup", "textsubscript": "sub"})
STYLES.update(dict.fromkeys(str.split("textrm textsf textnormal textup textmd mbox hbox text"), ""))
DECLARATIONS = {"bf": "b", "bfseries": "b", "it": "i", "itshape": "i", "sl": "i", "em": "em", "tt": "tt"}
DECLARATIONS.update({"ttfamily": "tt", "sc": "sc", "scshape": "sc", "rm": "", "normalfont": "", "upshape": ""})
SYMBOLS = {"&": "&", "%": "%", "$": "$", "#": "#", "_": "_", "{": "{", "}": "}", "\\": " ", " ": " ", "\n": " "}
SYMBOLS.update({",": "\u2009", ";": " ", ":": " ", "-": "", "/": "", "@": "", "!": ""})

# Math commands outside `$...$` (`\\tilde{\\pi}_w`, `\\mathcal{O}`): how many arguments each one takes.
MATH_ARGS = dict.fromkeys(str.split("hat tilde bar dot ddot vec check breve acute grave widehat widetilde"), 1)
MATH_ARGS.update(dict.fromkeys(str.split("overline sqrt mathbb mathcal mathbf mathrm mathfrak mathsf mathit"), 1))
MATH_ARGS.update(dict.fromkeys(str.split("mathscr boldsymbol bm operatorname"), 1))
MATH_ARGS.update(dict.fromkeys(str.split("frac dfrac tfrac binom"), 2))
