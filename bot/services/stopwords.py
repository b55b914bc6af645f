"""Words too common to say what a search or a question is about, per language.

Small on purpose: only words that carry no subject. A word that is a stopword in one language
and a subject in another ("son", "sin", "once") is left out, since a search is read in every
community language at once."""

from __future__ import annotations

STOPWORDS: dict[str, frozenset[str]] = {
    "en": frozenset("""
        a an and are as at be been but by can could do does did for from had has have how i if in into is it its
        me my no not of on or our so than that the their them then there these they this those to us was we were
        what when where which who whom why will with would you your about any more most other some such very
        should shall may might also just only both each all being am""".split()),
    "fr": frozenset("""
        au aux avec ce ces cette comment dans de des du elle elles est et etre eux il ils je la le les leur leurs
        lui mais me meme mes moi mon ne nos notre nous ou par pas pour qu que quel quelle quels quelles qui sa
        se ses sur ta te tes toi ton tu un une vos votre vous y sont ont avoir fait peut peuvent quoi dont""".split()),
    "es": frozenset("""
        al algo como con cual cuales cuando de del el ella ellas ellos en entre era es esa ese eso esta estan este
        esto estos hay la las le les lo los mas me mi mis muy nos nuestra nuestro os para pero por que quien se
        su sus tambien te tiene tienen un una uno unos unas usted y ya son fue han puede pueden donde""".split()),
    "pt": frozenset("""
        ao aos as com como da das de dela dele deles do dos e ela elas ele eles em entre era essa esse esta este
        eu foi ha isso isto ja lhe mais mas me meu minha muito na nas nao nem no nos nossa nosso num numa o os
        ou para pela pelas pelo pelos por qual quais quando que quem se seu sua suas seus tambem te tem um uma
        umas uns sao pode podem onde""".split()),
    "ar": frozenset("""
        في من على إلى الى عن مع هذا هذه ذلك تلك التي الذي الذين هو هي هم نحن أنا انا أن ان إن كان كانت ما ماذا
        كيف هل لا لم لن أو او ثم قد كل بعض بين عند غير أي اي لماذا متى أين اين""".split()),
}
