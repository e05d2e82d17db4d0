//%attributes = {"lang":"en"}
#DECLARE($name : Text) : Text

Case of 
	: (Length($name)=0)
		return "Hello!"
	Else 
		return "Hello, "+$name+"!"
End case 
