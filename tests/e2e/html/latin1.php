<html><head><meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1"><title>Café – crème brûlée € 5</title></head><body><h1>Grüße</h1></body></html>
