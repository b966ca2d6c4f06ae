-- The warehouse's clock (clock_timestamp, not the transaction start now()).
SELECT clock_timestamp()
