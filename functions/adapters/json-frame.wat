;; The framer `keymend scan` runs over CloudTrail log files (functions/adapters/json-frame.ts loads
;; it; `npm run wasm` assembles this file into json-frame-wasm.ts). One function, objectEnd, finds
;; where a JSON object that starts at a given byte ends, as the log reader's JavaScript byte loop
;; (RecordScanner.valueEnd) does: strings skipped with their escapes, brackets counted, not matched
;; (JSON.parse checks the records that are parsed). It runs over the chunk's bytes in this module's
;; memory, sixteen bytes at a time inside strings, which is most of a log's bytes.
;;
;; While framing it notes what the log reader's prefilter asks of a record (json-frame.ts,
;; MARKERS): a string that starts with `kms.amazonaws.com`, a string that starts with
;; `AccessDenied`, and a `\u` escape (by which JSON may spell any character of either).
(module
  ;; The chunk, from byte 0. The caller grows it to the chunk's length plus SLACK bytes: the loads
  ;; below may read up to 17 bytes past the chunk's end (a 16-byte load one byte past an escape),
  ;; and what they find there is never used.
  (memory (export "memory") 1)

  ;; The markers of the object objectEnd last framed (bits: 1 kms.amazonaws.com, 2 AccessDenied,
  ;; 4 a \u escape); set only when it returns an end.
  (global $markers (export "markers") (mut i32) (i32.const 0))

  ;; The index just past the object that starts with `{` at $i, or -1 when it does not end before
  ;; byte $end (the chunk goes on in the next one: the caller frames it in JavaScript).
  (func (export "objectEnd") (param $i i32) (param $end i32) (result i32)
    (local $depth i32)
    (local $byte i32)
    (local $found i32)
    (local $seen i32)
    (local $bytes v128)
    (block $unended
      (loop $between
        ;; Between strings: one byte at a time (a colon, a comma, a bracket, a number's digits).
        (br_if $unended (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $byte (i32.load8_u (local.get $i)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (if (i32.eq (local.get $byte) (i32.const 0x22)) ;; "
          (then
            ;; A string starts at $i. Does it start with "kms.amazonaws.com" (17 bytes, read as
            ;; two little-endian i64 and one byte) or with "AccessDenied" (12 bytes)?
            (if (i64.eq (i64.load (local.get $i)) (i64.const 0x7a616d612e736d6b)) ;; kms.amaz
              (then
                (if (i32.and
                      (i64.eq (i64.load offset=8 (local.get $i)) (i64.const 0x6f632e7377616e6f)) ;; onaws.co
                      (i32.eq (i32.load8_u offset=16 (local.get $i)) (i32.const 0x6d))) ;; m
                  (then (local.set $seen (i32.or (local.get $seen) (i32.const 1)))))))
            (if (i64.eq (i64.load (local.get $i)) (i64.const 0x6544737365636341)) ;; AccessDe
              (then
                (if (i32.eq (i32.load offset=8 (local.get $i)) (i32.const 0x6465696e)) ;; nied
                  (then (local.set $seen (i32.or (local.get $seen) (i32.const 2)))))))
            (loop $string
              ;; Sixteen bytes at once: where is the first quote or backslash among them?
              (local.set $bytes (v128.load (local.get $i)))
              (local.set $found
                (i8x16.bitmask
                  (v128.or
                    (i8x16.eq (local.get $bytes) (i8x16.splat (i32.const 0x22))) ;; "
                    (i8x16.eq (local.get $bytes) (i8x16.splat (i32.const 0x5c)))))) ;; \
              (if (i32.eqz (local.get $found))
                (then
                  (local.set $i (i32.add (local.get $i) (i32.const 16)))
                  (br_if $unended (i32.ge_u (local.get $i) (local.get $end)))
                  (br $string)))
              (local.set $i (i32.add (local.get $i) (i32.ctz (local.get $found))))
              (br_if $unended (i32.ge_u (local.get $i) (local.get $end)))
              (local.set $byte (i32.load8_u (local.get $i)))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (if (i32.eq (local.get $byte) (i32.const 0x5c)) ;; \ escapes the next byte
                (then
                  (if (i32.eq (i32.load8_u (local.get $i)) (i32.const 0x75)) ;; u
                    (then (local.set $seen (i32.or (local.get $seen) (i32.const 4)))))
                  (local.set $i (i32.add (local.get $i) (i32.const 1)))
                  (br $string))))
            ;; The closing quote: back between strings.
            (br $between)))
        (if (i32.or (i32.eq (local.get $byte) (i32.const 0x7b)) (i32.eq (local.get $byte) (i32.const 0x5b))) ;; { [
          (then
            (local.set $depth (i32.add (local.get $depth) (i32.const 1)))
            (br $between)))
        (if (i32.or (i32.eq (local.get $byte) (i32.const 0x7d)) (i32.eq (local.get $byte) (i32.const 0x5d))) ;; } ]
          (then
            (local.set $depth (i32.sub (local.get $depth) (i32.const 1)))
            (if (i32.eqz (local.get $depth))
              (then
                (global.set $markers (local.get $seen))
                (return (local.get $i))))))
        (br $between)))
    (i32.const -1)))
