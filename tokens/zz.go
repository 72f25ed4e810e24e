package tokens
import _ "github.com/sugarme/tokenizer"
