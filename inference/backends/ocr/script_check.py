"""Which script a line is in when RapidOCR (Latin and Chinese) and Tesseract (its installed languages) read it
differently, and which lines no installed engine reads.

RapidOCR reads Cyrillic as Latin look-alikes, and confidently ("Счёт № 5821 от 12 марта" as "Cuët N 5821 oT 12
mapta"); Tesseract with Russian and English reads Latin capitals as Cyrillic ones just as confidently ("TAX" as
"ТАХ"). Neither engine's confidence tells them apart; the languages' dictionaries do: a line is taken in another
script when Tesseract (e.g. rus+eng) reads dictionary words in that script surely, with clearly more letters than
the words Tesseract (eng alone) reads surely beyond those the mixed reading kept in Latin ("Paid by card" read as
"Paid Бу сага" stays English: "by card" has as many letters read surely; "Reçu à Genève" read as "Веси а Genéve"
stays French: "Recu a" too), or when such a word is what RapidOCR read, letter for look-alike letter, and English lacks
RapidOCR's word ("Товар" read as "ToBap": "Товар: Printer paper A4", where English's "Tosap" is read surely too). A line
RapidOCR garbled (symbols, a formula) is taken in Tesseract's reading only when most of its letters beyond Latin are in
words read surely: '∇·B=0' read as 'У.В=0', or 'dx' as 'ах', stays RapidOCR's. Words drawn alike in both scripts
("Сера" and "Cepa", "Нет" and "HeT") show nothing on their own; on a page mostly in Cyrillic they are taken as its
(``in_another_script``, ``page_script_reading``).

A line no installed engine reads: shaped like text (ink in many separate runs along it: not a rule, a frame or a
few dots), read poorly by RapidOCR (unsure) with signs of a script it lacks (too few characters for its width, mostly
symbols, or look-alike words) and by Tesseract (unsure). Said only when such lines are a good part of the page: a
smudged line of a receipt is not a script, nor is Latin read poorly (handwriting) without such signs.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Container

import numpy as np

from .line_band import ink
from .tess_words import Word

SURE_WORD = 0.8  # dictionary words read at least this surely count as evidence
LOOK_ALIKE_WORD = 0.5  # ...or this surely, where RapidOCR read the word letter for look-alike letter...
LONG_WORD = 5  # ...or all but one letter of it, in a word this long
MIN_OTHER = 4  # letters of dictionary words in another script: fewer ("КН" for RM, "Тан" for TAX) is no evidence...
LETTERLESS_OTHER = 3  # ...but for a line RapidOCR read no letter of ("Сыр 210,00" as " 210,00")
OTHER_MARGIN = 1.5  # ...with this many times the letters English reads surely there beyond the mixed reading
WORDS_SHARE = 0.5  # a garbled line's reading in another script: at least this share of its letters in sure words
UNSURE_LINE = 0.6  # Tesseract's reading of a line below this mean confidence is a guess
UNREAD_SHARE = 0.2  # lines no engine reads must be at least this share of the page's lines to be said
PAGE_LINES = 3  # a page with at least this many lines read in another script, more than those showing Latin, is in it


def letters(text: str) -> int:
    return sum(ch.isalpha() for ch in text)


def non_latin_letters(text: str) -> int:
    """Letters beyond the Latin blocks (Cyrillic, Greek...): what Tesseract adds when a line is in another script."""
    return sum(ch.isalpha() and ord(ch) > 0x24F for ch in text)


def dictionary_letters(words: list[Word]) -> int:
    """The letters beyond Latin of the dictionary words read surely."""
    return sum(letters(w.text) for w in words if w.in_dictionary and w.confidence >= SURE_WORD and non_latin_letters(w.text))


def in_words_of_the_script(words: list[Word], min_letters: int = MIN_OTHER) -> bool:
    """Whether a reading's letters beyond Latin are mostly (``WORDS_SHARE``) in words read surely, some of them
    dictionary words (``min_letters`` of theirs): a line in that script (compounds such as 'Экспресс-доставка' are in no
    dictionary), not symbols or a smudge read as its letters ('∇·B=0' as 'У.В=0', 'dx' as 'ах')."""
    beyond = sum(non_latin_letters(w.text) for w in words)
    sure = sum(non_latin_letters(w.text) for w in words if w.confidence >= SURE_WORD)
    return dictionary_letters(words) >= min_letters and sure >= WORDS_SHARE * beyond


def latin_letters(words: list[Word]) -> int:
    """The letters of the words in Latin read surely (in a dictionary or not: French or a name is Latin too)."""
    return sum(letters(w.text) for w in words if w.confidence >= SURE_WORD and not non_latin_letters(w.text))


# RapidOCR's reading of Cyrillic: a Greek letter in a word (т as τ: "τoβap"; not a lone letter or one beside digits,
# "ρ", "ε0", nor in a line of a formula: "eiπ + 1 = 0", "λg = λg′"), a small letter before a capital in a short word
# ("oT" for от), digits around small letters ("3a3a" for заказа)...
_ODD_SIGN = re.compile(r"\b[a-z][A-Z]\b|\d[a-z]+\d")
_GREEK = re.compile(r"[\u0370-\u03ff]")
_FORMULA = re.compile(r"[=+×·∑∫∇∂√∞≤≥≠∈±−]")  # (a line with one of these is a formula: its Greek letters are Greek)
# ...or a word with a small letter before a capital inside it ("ToBap" for Товар) or of 3 letters or more, small or
# capitalised, all of whose letters have Cyrillic look-alikes ("Hoep" for Номер, "mapta" for марта, "Tobap" or "Toßap"
# for Товар), unless English's dictionary has it ("once", "more", "Tobacco"; in small letters only for a word that is)
# or each of its capitalised parts ("SoftBank", "OpenWebMath"; not "cepBuc" for сервис, nor "aToM"). Words in capitals
# and accents are no sign (TAX, Reçu).
_ODD_WORD = re.compile(r"[a-z][A-Z][a-z]|\b[ABCEHKMOPTXY]?[abcekmnoprtuxyßβb]{3,}\b|\b[ABCEHKMOPTXY][abcekmnoprtuxyßβb]{2,}\b")
_LETTERS = re.compile(r"[^\W\d_]+")
_PARTS = re.compile(r"[A-Z][a-z]+")
_ADDRESS = re.compile(r"@|://|\bwww\.")  # (an e-mail or web address: no sign of a script whatever its letters)
MIN_PART = 4  # letters of each part of a compound taken as English (3-letter ones are too loose: "Cep" + "Buc", сервис)
ENGLISH_WORD = 4  # letters of a word of English's dictionary that shows a line read poorly is Latin (3-letter strings of
# look-alike letters are in Tesseract's English word list one time in three)


def may_be_other_script(text: str, english: Container[str] = frozenset()) -> bool:
    """Whether RapidOCR's reading of a line shows signs of a script it lacks (see ``_ODD_SIGN`` and ``_ODD_WORD``);
    ``english``: English's words (``tess_words``; none: every look-alike word is a sign)."""
    formula = bool(_FORMULA.search(text))
    for token in text.split():
        if _ADDRESS.search(token):
            continue
        if _ODD_SIGN.search(token) or (not formula and _GREEK.search(token) and letters(token) > 1):
            return True
        for match in _ODD_WORD.finditer(token):
            word = next(run.group() for run in _LETTERS.finditer(token) if run.start() <= match.start() < run.end())
            if not is_english(word, english):
                return True
    return False


def is_english(word: str, english: Container[str]) -> bool:
    """A word in English's dictionary (small, capitalised or in capitals: in small letters too; not "aToM"), or made of
    capitalised parts that are in it in small letters (words, not names)."""
    if word in english or ((word[1:].islower() or word.isupper()) and word.lower() in english):
        return True
    parts = _PARTS.findall(word)
    return (
        len(parts) > 1
        and "".join(parts) == word
        and all(len(part) >= MIN_PART and part.lower() in english for part in parts)  # (words, not names: 'Beco' + 'Boro')
    )


def has_english_words(text: str, english: Container[str]) -> bool:
    """Whether a reading holds a word of ``ENGLISH_WORD`` letters or more that English's dictionary has: a line in
    Latin read poorly (handwriting: "Master bath -7 1/4"), not another script read as Latin junk (Armenian as
    "wjwuunwp qnghy tphn")."""
    return any(len(word) >= ENGLISH_WORD and is_english(word, english) for word in _LETTERS.findall(text))


def reads_other_script(mixed: list[Word], english: Callable[[], list[Word]]) -> bool:
    """Whether Tesseract's reading with several languages (``mixed``) shows the line is (partly) in a script other
    than Latin: see the module's doc. ``english`` reads the line with English alone (only called when needed)."""
    other = dictionary_letters(mixed)
    if other < MIN_OTHER:
        return False
    return other > OTHER_MARGIN * (latin_letters(english()) - latin_letters(mixed))


# Cyrillic letters as RapidOCR reads them in Latin, in small letters ("Товар" as "ToBap", "Москва" as "MockBa", "Номер" as
# "Homep", "Счёт" as "Cuët"), and the other letters it reads for them (в as ß or β, т as τ: "Toßap", "apτa")
_AS_LATIN = str.maketrans("авеёкмнорстухпгзьич", "abeëkmhopctyxnr3bu4")
_READ_AS = str.maketrans("ßβτκροαε", "bbtkpoae")
# ...of which these are drawn otherwise in Latin (a small в, м, н, т is a small capital: "ToBap"; и is no u, п no n...).
# A word without one ("Koca", "poca", "Kakao", "TAPA") is drawn alike in both scripts: it shows nothing (коса, роса).
_TELLING = re.compile(r"[bmnhur34ßβτ]|(?<=[a-zë])[BHMT]")


def read_as_look_alikes(mixed: list[Word], read: str, english: Container[str] = frozenset()) -> bool:
    """Whether a word of another script that Tesseract's reading with several languages (``mixed``) has in its dictionary
    (read with some confidence, of MIN_OTHER letters or more) is what RapidOCR read (``read``), letter for look-alike
    letter ("Товар" read "ToBap"; one letter dropped or changed in a word of LONG_WORD letters or more: "Tobp"), with a
    letter drawn otherwise in Latin (``_TELLING``: not "Koca" for коса, which is Turkish and Spanish as well), and
    English's dictionary lacks RapidOCR's word: that word is in the other script, though the line's other words keep it
    Latin by ``reads_other_script``'s margin ("Товар: Printer paper A4")."""
    seen = {
        word.lower().translate(_READ_AS)
        for word in _LETTERS.findall(read)
        if _TELLING.search(word) and not is_english(word, english)
    }
    for w in mixed:
        if w.in_dictionary and w.confidence >= LOOK_ALIKE_WORD and letters(w.text) >= MIN_OTHER and non_latin_letters(w.text):
            latin = _word_letters(w.text).lower().translate(_AS_LATIN)
            if not non_latin_letters(latin) and any(
                word == latin or (len(latin) >= LONG_WORD and _one_edit(word, latin)) for word in seen
            ):
                return True
    return False


def in_another_script(texts: list[str], english: Container[str] = frozenset()) -> bool:
    """Whether a page's lines (as read so far) are mostly Cyrillic: PAGE_LINES of them or more, and more than those that
    show Latin (``shows_latin``; a Russian receipt, not an English page with Russian lines: lines read in look-alike
    letters, "Cepa" or "HeT", show nothing either way)."""
    other = sum(2 * cyrillic_letters(text) > letters(text) for text in texts)
    latin = sum(not cyrillic_letters(text) and shows_latin(text, english) for text in texts)
    return other >= PAGE_LINES and other > latin


def cyrillic_letters(text: str) -> int:
    return sum("\u0400" <= ch <= "\u04ff" for ch in text)


# Letters RapidOCR seldom reads for a Cyrillic one (not F for г, N for и; l and I, of ы read as "bl" or "bI", are rare)
_UNLIKE = re.compile(r"[dfgijlqsvwzDGIJLQRSUVWZ]")


def shows_latin(text: str, english: Container[str] = frozenset()) -> bool:
    """Whether a reading is Latin by more than its look-alike letters: two letters or more that no Cyrillic letter is
    read as, or a word of English's dictionary of ENGLISH_WORD letters with one ("Total", "Cash"; not "Cepa" or "Tapa",
    which it has too; web addresses aside)."""
    words = [word for token in text.split() if not _ADDRESS.search(token) for word in _LETTERS.findall(token)]
    return sum(len(_UNLIKE.findall(word)) for word in words) >= 2 or any(
        len(word) >= ENGLISH_WORD and _UNLIKE.search(word) and is_english(word, english) for word in words
    )


LATIN_READING = 12  # letters a page read with English needs to show it is in Cyrillic: fewer than FEW_UNLIKE of them
FEW_UNLIKE, FEW_ENGLISH = 0.2, 0.25  # seldom read for a Cyrillic letter, and fewer than FEW_ENGLISH in English's words


def cyrillic_read_as_latin(texts: list[str], english: Container[str]) -> bool:
    """Whether a page read with English (Tesseract's "Npusert, mup!" for "Привет, мир!", "py6nen" for "рублей") is likely
    in Cyrillic: LATIN_READING letters or more (web addresses aside), few of them seldom read for a Cyrillic one
    (``_UNLIKE``: other Latin-script languages write them often: pages in Basque, Czech, Polish, Turkish read with English
    had 0.23 or more of them, Russian ones mostly 0.19 or fewer), few in words of English's dictionary, and a
    word with signs of look-alikes (``may_be_other_script``). Capitals alone ("ИТОГО" as "UTOTO") show too little."""
    words = [word for text in texts for token in text.split() if not _ADDRESS.search(token) for word in _LETTERS.findall(token)]
    total = sum(map(len, words))
    if total < LATIN_READING or sum(len(_UNLIKE.findall(word)) for word in words) >= FEW_UNLIKE * total:
        return False  # (most English pages stop here: a third of their letters are such)
    if sum(len(word) for word in words if len(word) >= 3 and is_english(word, english)) >= FEW_ENGLISH * total:
        return False
    return any(may_be_other_script(text, english) for text in texts)


def page_script_reading(mixed: list[Word], read: str, known: Container[str]) -> str | None:
    """On a page mostly in Cyrillic (``in_another_script``): Tesseract's reading with several languages (``mixed``) of a
    line RapidOCR read in Latin (``read``) when it is the line in the page's script, else None. Its Cyrillic words (of
    two letters or more: "и", "с" show nothing) are read with some confidence (``LOOK_ALIKE_WORD``) and known to the
    language (``known``, its word list: in small letters, or in capitals as listed); and either RapidOCR read fewer
    letters, no digit or sign Tesseract left out, and its other words as Tesseract did or fewer than half the line's
    letters ("e 1234" for "Чек 1234", "Cy" for "Суп", "Apple iPhone 15 Pro ëpí" for "... чёрный"; not "BT-3" as
    "ВТЗ"), or those words are half the line's letters or more (web addresses aside), and half of theirs or more are in
    words of three letters or more that RapidOCR read letter for look-alike letter (``_AS_DRAWN``; or nearly, ``_near``,
    in a word of LONG_WORD letters), drawn alike or not and whatever English has: "Koca" is коса here, "Het" нет, "Tapa"
    тара, "Tomat" томат, "Kypc USD" курс USD, "TAX" ТАХ, "COK" СОК (in RapidOCR's capitals). Where RapidOCR read half
    the letters or fewer, a word read surely, long and written as words are may be unknown ("БЕЗНАЛИЧНЫМИ"). Brands and
    names read letter by letter stay ("Texaco" as "Техасо", "TEXAC", "ECCO"; "Tea" as "Теа", listed only capitalised),
    as does "Kapa Tepe Mopkap" (one word "Кара")."""
    cyrillic = [w for w in mixed if cyrillic_letters(w.text)]
    words = [w for w in cyrillic if letters(w.text) > 1]  # (a one-letter word, "и", "с", shows nothing either way)
    if not words or not all(_word_of_the_script(w, known) for w in words):
        return None
    other, text = sum(cyrillic_letters(w.text) for w in cyrillic), " ".join(w.text for w in mixed)
    most = 2 * other >= letters(" ".join(w.text for w in mixed if not _ADDRESS.search(w.text)))
    unknown = [w for w in words if not _known(w.text, known)]  # (a brand read letter by letter: "Техасо", "ЕССО")
    if letters(read) < letters(text):
        latin = [w.text.lower() for w in mixed if letters(w.text) and not cyrillic_letters(w.text)]
        return (
            text
            if (most or all(word in read.lower() for word in latin))  # (or RapidOCR read the Latin words the same)
            and (not unknown or 2 * letters(read) <= letters(text))
            and _keeps_digits_and_signs(read, text)
            else None
        )
    if unknown or not most:
        return None
    drawn_as = {_as_read(word): word for word in _LETTERS.findall(read)}
    alike, out = 0, []
    for w in mixed:
        drawn = _word_letters(w.text).lower().translate(_AS_DRAWN)
        near = [word for seen, word in drawn_as.items() if len(drawn) >= LONG_WORD and _near(seen, drawn)]
        match = drawn_as.get(drawn) or (near[0] if near else None)
        if cyrillic_letters(w.text) and letters(w.text) >= 3 and match:
            alike += cyrillic_letters(w.text)
        out.append(w.text.upper() if match and len(match) > 1 and match.isupper() else w.text)
    return " ".join(out) if 2 * alike >= other else None


def _near(seen: str, drawn: str) -> bool:
    """Whether RapidOCR's word is the drawn one with one letter left out or added ("tobp" for товар, "kaccan" for "касса
    №"), or one read as RapidOCR reads it at times (``_MISREAD``, or a letter beyond ASCII: "bcefo" for всего, "tomam"
    for томат, "étoro" for итого), not as another letter ("metro" is no метко)."""
    if abs(len(seen) - len(drawn)) == 1:
        return _one_edit(seen, drawn)
    differ = [(a, b) for a, b in zip(drawn, seen, strict=False) if a != b]
    return len(seen) == len(drawn) and len(differ) == 1 and (differ[0] in _MISREAD or not differ[0][1].isascii())


_MISREAD = {("r", "f"), ("r", "t"), ("t", "m"), ("u", "n")}  # (drawn as, read as): г as F or T, т as m, и as N


def _known(text: str, known: Container[str]) -> bool:
    word = _word_letters(text)
    return word.lower() in known or (word.isupper() and word in known)


def _word_of_the_script(word: Word, known: Container[str]) -> bool:
    """A Cyrillic word of Tesseract's (two letters or more) that may be the page's: written as words are (not "КаКао",
    "МорКар": Latin look-alike names read letter by letter), and known and read with some confidence, or read surely and
    long."""
    text = _word_letters(word.text)
    if not (text.isupper() or text[1:].islower()):
        return False
    if _known(word.text, known):
        return word.confidence >= LOOK_ALIKE_WORD
    return word.confidence >= SURE_WORD and len(text) >= MIN_OTHER


_GLUED = re.compile(r"(?<=[^\W\d_])\d+|\d+(?=[^\W\d_])")  # digits against a letter: a letter read as one ("4ek", "Pa30m")


def _keeps_digits_and_signs(read: str, text: str) -> bool:
    """Whether a reading (``text``) has the digits and signs (™, +, €) of RapidOCR's (``read``) that are not letters."""

    def signs(value: str) -> int:
        return sum(unicodedata.category(ch) in ("So", "Sm", "Sc") for ch in value)

    digits = sum(ch.isdigit() for ch in _GLUED.sub("", read))
    return sum(ch.isdigit() for ch in text) >= digits and signs(text) >= signs(read)


# How RapidOCR reads Cyrillic words, more loosely than _AS_LATIN (on a page in Cyrillic, where a word needs no telling letter):
# ы as "bl" or "bI", ф as φ, ч as Y, й as é ("Cblp" for Сыр, "Koφe" for Кофе, "Yek" for Чек, "Caét" for Сайт)
_AS_DRAWN = str.maketrans({**{c: _AS_LATIN[ord(c)] for c in "авеёкмнорстухпгзьи"}, "ы": "bl", "ф": "f", "ч": "y", "й": "é"})
_DRAWN = str.maketrans({"φ": "f"})


def _as_read(word: str) -> str:
    return word.lower().translate(_READ_AS).translate(_DRAWN).replace("bi", "bl").replace("bı", "bl")


def _word_letters(text: str) -> str:
    """A word's letters, its punctuation and digits left out ("Итого:" -> "Итого")."""
    return "".join(_LETTERS.findall(text))


def _one_edit(a: str, b: str) -> bool:
    """Whether ``a`` is ``b`` with one letter dropped, added or changed."""
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def ink_runs(crop: np.ndarray) -> tuple[int, float]:
    """Runs of columns with ink along a line crop, and the share of columns with ink ((0, 0) without contrast)."""
    mask = ink(crop)
    if mask is None:
        return 0, 0.0
    columns = np.count_nonzero(mask, axis=0) >= 2
    return int(np.count_nonzero(columns[1:] & ~columns[:-1]) + bool(columns[0])), float(columns.mean())


def text_shaped(crop: np.ndarray) -> bool:
    """A crop that looks like a line of several characters: wide, its ink in many runs covering a good part of it."""
    height, width = crop.shape[:2]
    if width < 3 * height:
        return False
    runs, share = ink_runs(crop)
    return runs >= max(4, 0.4 * width / max(height, 1)) and 0.3 <= share <= 0.95


def worth_saying(unread: int, lines: int) -> bool:
    return unread > 0 and unread >= UNREAD_SHARE * lines
