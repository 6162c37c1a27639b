;; The gear loop of src/repo/chunker.ts (Chunker.cutJs is the reference it must equal), as
;; WebAssembly: cutting 1 GiB of random data took 3.1-3.7 s in JavaScript, 0.7-0.8 s in this (the
;; bench machine, default sizes; docs/performance.md).
;; src/repo/gear-wasm.ts embeds the bytes wabt makes of this file; a test rebuilds and compares.
;;
;; Memory: the gear table (256 x i32) at 0, the caller's read buffer after it. Addresses are
;; absolute. Each loop takes two bytes a step (one bound check per two bytes), then the odd one.
(module
  (memory (export "memory") 1)
  (func (export "cut")
    (param $start i32) (param $n i32) (param $min i32) (param $avg i32) (param $max i32)
    (param $maskS i32) (param $maskL i32) (result i32)
    (local $i i32) (local $normal i32) (local $limit i32) (local $h i32)
    (if (i32.le_u (local.get $n) (local.get $min)) (then (return (local.get $n))))
    (local.set $limit (i32.add (local.get $start)
      (select (local.get $n) (local.get $max) (i32.lt_u (local.get $n) (local.get $max)))))
    (local.set $normal (i32.add (local.get $start)
      (select (local.get $n) (local.get $avg) (i32.lt_u (local.get $n) (local.get $avg)))))
    (local.set $i (i32.add (local.get $start) (local.get $min)))

    ;; Before avg: the stricter mask.
    (block $pairsS
      (loop $stepS2
        (br_if $pairsS (i32.ge_u (i32.add (local.get $i) (i32.const 1)) (local.get $normal)))
        (local.set $h (i32.add (i32.shl (local.get $h) (i32.const 1))
          (i32.load (i32.shl (i32.load8_u (local.get $i)) (i32.const 2)))))
        (if (i32.eqz (i32.and (local.get $h) (local.get $maskS)))
          (then (return (i32.sub (i32.add (local.get $i) (i32.const 1)) (local.get $start)))))
        (local.set $h (i32.add (i32.shl (local.get $h) (i32.const 1))
          (i32.load (i32.shl (i32.load8_u offset=1 (local.get $i)) (i32.const 2)))))
        (local.set $i (i32.add (local.get $i) (i32.const 2)))
        (if (i32.eqz (i32.and (local.get $h) (local.get $maskS)))
          (then (return (i32.sub (local.get $i) (local.get $start)))))
        (br $stepS2)))
    (if (i32.lt_u (local.get $i) (local.get $normal))
      (then
        (local.set $h (i32.add (i32.shl (local.get $h) (i32.const 1))
          (i32.load (i32.shl (i32.load8_u (local.get $i)) (i32.const 2)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (if (i32.eqz (i32.and (local.get $h) (local.get $maskS)))
          (then (return (i32.sub (local.get $i) (local.get $start)))))))

    ;; From avg to max: the looser mask.
    (block $pairsL
      (loop $stepL2
        (br_if $pairsL (i32.ge_u (i32.add (local.get $i) (i32.const 1)) (local.get $limit)))
        (local.set $h (i32.add (i32.shl (local.get $h) (i32.const 1))
          (i32.load (i32.shl (i32.load8_u (local.get $i)) (i32.const 2)))))
        (if (i32.eqz (i32.and (local.get $h) (local.get $maskL)))
          (then (return (i32.sub (i32.add (local.get $i) (i32.const 1)) (local.get $start)))))
        (local.set $h (i32.add (i32.shl (local.get $h) (i32.const 1))
          (i32.load (i32.shl (i32.load8_u offset=1 (local.get $i)) (i32.const 2)))))
        (local.set $i (i32.add (local.get $i) (i32.const 2)))
        (if (i32.eqz (i32.and (local.get $h) (local.get $maskL)))
          (then (return (i32.sub (local.get $i) (local.get $start)))))
        (br $stepL2)))
    (if (i32.lt_u (local.get $i) (local.get $limit))
      (then
        (local.set $h (i32.add (i32.shl (local.get $h) (i32.const 1))
          (i32.load (i32.shl (i32.load8_u (local.get $i)) (i32.const 2)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (if (i32.eqz (i32.and (local.get $h) (local.get $maskL)))
          (then (return (i32.sub (local.get $i) (local.get $start)))))))
    (i32.sub (local.get $limit) (local.get $start))))
