//! A bit-exact port of CPython 3.11's `random.Random`.
//!
//! Only what the workloads need is here: seeding from an integer, the
//! MT19937 core (`getrandbits`, `random`), and the derived methods
//! `_randbelow`, `randint`, `choice`, `gauss`, `normalvariate`,
//! `lognormvariate` and `expovariate`.  Every method follows the Python
//! source line by line, including the order of floating-point operations,
//! so the same seed gives the same numbers bit for bit.

/// Number of 32-bit words in the MT19937 state.
const N: usize = 624;
/// MT19937 middle word offset.
const M: usize = 397;
const MATRIX_A: u32 = 0x9908_b0df;
const UPPER_MASK: u32 = 0x8000_0000;
const LOWER_MASK: u32 = 0x7fff_ffff;

/// `2 * math.pi`, Python's `random.TWOPI`.
const TWOPI: f64 = 2.0 * std::f64::consts::PI;

/// Python's `random.NV_MAGICCONST = 4 * exp(-0.5) / sqrt(2.0)`, as CPython
/// computes it at import time (the literal is that double, checked by a test).
const NV_MAGICCONST: f64 = 1.715_527_769_921_413_5;

/// The Mersenne Twister MT19937 generator, as in CPython's `_randommodule.c`.
#[derive(Clone)]
pub struct Mt19937 {
    mt: [u32; N],
    mti: usize,
}

impl Mt19937 {
    /// Seeds the generator the way the reference `init_by_array` does.
    ///
    /// An empty key is treated as `[0]`, like CPython does for seed 0.
    pub fn from_key(key: &[u32]) -> Self {
        let key: &[u32] = if key.is_empty() { &[0] } else { key };
        let mut g = Self::from_u32(19_650_218);
        let mt = &mut g.mt;
        let (mut i, mut j) = (1usize, 0usize);
        for _ in 0..N.max(key.len()) {
            let prev = mt[i - 1] ^ (mt[i - 1] >> 30);
            mt[i] = (mt[i] ^ prev.wrapping_mul(1_664_525))
                .wrapping_add(key[j])
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= N {
                mt[0] = mt[N - 1];
                i = 1;
            }
            if j >= key.len() {
                j = 0;
            }
        }
        for _ in 0..N - 1 {
            let prev = mt[i - 1] ^ (mt[i - 1] >> 30);
            mt[i] = (mt[i] ^ prev.wrapping_mul(1_566_083_941)).wrapping_sub(i as u32);
            i += 1;
            if i >= N {
                mt[0] = mt[N - 1];
                i = 1;
            }
        }
        mt[0] = 0x8000_0000;
        g
    }

    /// Seeds the generator the way the reference `init_genrand` does.
    pub fn from_u32(seed: u32) -> Self {
        let mut mt = [0u32; N];
        mt[0] = seed;
        for i in 1..N {
            mt[i] = 1_812_433_253u32
                .wrapping_mul(mt[i - 1] ^ (mt[i - 1] >> 30))
                .wrapping_add(i as u32);
        }
        Self { mt, mti: N }
    }

    /// Next 32-bit output (`genrand_uint32`).
    pub fn next_u32(&mut self) -> u32 {
        if self.mti >= N {
            self.twist();
        }
        let mut y = self.mt[self.mti];
        self.mti += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    fn twist(&mut self) {
        let mag = |y: u32| if y & 1 == 0 { 0 } else { MATRIX_A };
        for kk in 0..N {
            let y = (self.mt[kk] & UPPER_MASK) | (self.mt[(kk + 1) % N] & LOWER_MASK);
            self.mt[kk] = self.mt[(kk + M) % N] ^ (y >> 1) ^ mag(y);
        }
        self.mti = 0;
    }
}

/// CPython's `random.Random`: MT19937 plus the cached second Box–Muller value.
#[derive(Clone)]
pub struct PyRandom {
    mt: Mt19937,
    gauss_next: Option<f64>,
}

impl PyRandom {
    /// `random.Random(seed)` for an integer seed.
    ///
    /// Like CPython, the absolute value is used, split into little-endian
    /// 32-bit words as the `init_by_array` key.
    pub fn new(seed: i64) -> Self {
        Self::from_u128(u128::from(seed.unsigned_abs()))
    }

    /// `random.Random(seed)` for a non-negative integer seed of up to 128 bits.
    pub fn from_u128(seed: u128) -> Self {
        let mut key = Vec::with_capacity(4);
        let mut n = seed;
        while n != 0 {
            key.push(n as u32);
            n >>= 32;
        }
        Self {
            mt: Mt19937::from_key(&key),
            gauss_next: None,
        }
    }

    /// `random()`: a float in `[0, 1)` with 53 random bits.
    pub fn random(&mut self) -> f64 {
        let a = self.mt.next_u32() >> 5;
        let b = self.mt.next_u32() >> 6;
        (f64::from(a) * 67_108_864.0 + f64::from(b)) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// `getrandbits(k)` for `k <= 64` (larger `k` is clamped to 64).
    ///
    /// Words are filled from the least significant end and the last word
    /// keeps its most significant bits, as in CPython.
    pub fn getrandbits(&mut self, k: u32) -> u64 {
        let k = k.min(64);
        if k == 0 {
            return 0;
        }
        if k <= 32 {
            return u64::from(self.mt.next_u32() >> (32 - k));
        }
        let low = u64::from(self.mt.next_u32());
        let high = u64::from(self.mt.next_u32() >> (64 - k));
        low | (high << 32)
    }

    /// `_randbelow(n)`: uniform in `[0, n)` by rejection sampling with
    /// `getrandbits(n.bit_length())`. Returns 0 when `n == 0`.
    pub fn randbelow(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        let k = u64::BITS - n.leading_zeros();
        loop {
            let r = self.getrandbits(k);
            if r < n {
                return r;
            }
        }
    }

    /// `randint(a, b)`: uniform in `[a, b]`, both ends included.
    ///
    /// # Panics
    ///
    /// Panics if `b < a` (Python raises `ValueError`).
    pub fn randint(&mut self, a: i64, b: i64) -> i64 {
        assert!(a <= b, "empty range for randint({a}, {b})");
        let width = (i128::from(b) - i128::from(a) + 1) as u128;
        let r = match u64::try_from(width) {
            Ok(w) => i128::from(self.randbelow(w)),
            // Only randint(i64::MIN, i64::MAX): 2**64 values, k = 65 bits.
            Err(_) => self.randbelow_wide(width),
        };
        (i128::from(a) + r) as i64
    }

    fn randbelow_wide(&mut self, n: u128) -> i128 {
        loop {
            let low = u128::from(self.mt.next_u32())
                | (u128::from(self.mt.next_u32()) << 32)
                | (u128::from(self.mt.next_u32() >> 31) << 64);
            if low < n {
                return low as i128;
            }
        }
    }

    /// `choice(seq)`: a uniformly chosen element, `None` for an empty slice.
    pub fn choice<'a, T>(&mut self, seq: &'a [T]) -> Option<&'a T> {
        if seq.is_empty() {
            return None;
        }
        let i = self.randbelow(seq.len() as u64) as usize;
        seq.get(i)
    }

    /// `gauss(mu, sigma)`: Box–Muller, caching the second value.
    pub fn gauss(&mut self, mu: f64, sigma: f64) -> f64 {
        let z = match self.gauss_next.take() {
            Some(z) => z,
            None => {
                let x2pi = self.random() * TWOPI;
                let g2rad = (-2.0 * (1.0 - self.random()).ln()).sqrt();
                self.gauss_next = Some(x2pi.sin() * g2rad);
                x2pi.cos() * g2rad
            }
        };
        mu + z * sigma
    }

    /// `normalvariate(mu, sigma)`: Kinderman–Monahan ratio of uniforms.
    pub fn normalvariate(&mut self, mu: f64, sigma: f64) -> f64 {
        loop {
            let u1 = self.random();
            let u2 = 1.0 - self.random();
            let z = NV_MAGICCONST * (u1 - 0.5) / u2;
            let zz = z * z / 4.0;
            if zz <= -u2.ln() {
                return mu + z * sigma;
            }
        }
    }

    /// `lognormvariate(mu, sigma) = exp(normalvariate(mu, sigma))`.
    pub fn lognormvariate(&mut self, mu: f64, sigma: f64) -> f64 {
        self.normalvariate(mu, sigma).exp()
    }

    /// `expovariate(lambd) = -log(1.0 - random()) / lambd`.
    pub fn expovariate(&mut self, lambd: f64) -> f64 {
        -(1.0 - self.random()).ln() / lambd
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nv_magic_const_matches_formula() {
        let v = 4.0 * (-0.5f64).exp() / 2.0f64.sqrt();
        assert_eq!(v.to_bits(), NV_MAGICCONST.to_bits());
    }

    #[test]
    fn reference_mt19937_outputs() {
        // The MT19937 reference (mt19937ar.c) prints these first for
        // init_by_array({0x123, 0x234, 0x345, 0x456}).
        let mut g = Mt19937::from_key(&[0x123, 0x234, 0x345, 0x456]);
        let first: Vec<u32> = (0..5).map(|_| g.next_u32()).collect();
        assert_eq!(
            first,
            [
                1_067_595_299,
                955_945_823,
                477_289_528,
                4_107_218_783,
                4_228_976_476
            ]
        );
    }

    #[test]
    fn random_seed_1_matches_python() {
        // python3 -c "import random; r=random.Random(1); print([r.random() for _ in range(3)])"
        let mut r = PyRandom::new(1);
        assert_eq!(r.random(), 0.134_364_244_112_401_22);
        assert_eq!(r.random(), 0.847_433_736_937_232_7);
        assert_eq!(r.random(), 0.763_774_618_976_614);
    }

    #[test]
    fn seed_zero_and_negative() {
        // python3 -c "import random; print(random.Random(0).random(), random.Random(-1).random())"
        assert_eq!(PyRandom::new(0).random(), 0.844_421_851_525_048_1);
        assert_eq!(PyRandom::new(-1).random(), PyRandom::new(1).random());
    }
    #[test]
    fn derived_methods_match_python() {
        // r = random.Random(42), then in this order:
        // [r.getrandbits(k) for k in (1, 7, 32, 33, 64)]
        // [r.randint(0, 900) for _ in range(5)], [r.randint(-50, 50) for _ in range(5)]
        // [r.choice((10, 30, 60, 300, 900)) for _ in range(5)]
        // [r.gauss(0, 1) for _ in range(3)], r.normalvariate(0, 1),
        // r.lognormvariate(0.5, 0.3), r.expovariate(0.25)
        let mut r = PyRandom::new(42);
        let bits: Vec<u64> = [1, 7, 32, 33, 64]
            .iter()
            .map(|&k| r.getrandbits(k))
            .collect();
        assert_eq!(
            bits,
            [1, 14, 107_420_369, 3_184_935_163, 4_117_511_471_858_006_928]
        );
        let a: Vec<i64> = (0..5).map(|_| r.randint(0, 900)).collect();
        assert_eq!(a, [142, 754, 104, 692, 758]);
        let b: Vec<i64> = (0..5).map(|_| r.randint(-50, 50)).collect();
        assert_eq!(b, [19, -39, 25, 4, -46]);
        let gaps = [10, 30, 60, 300, 900];
        let c: Vec<i32> = (0..5)
            .map(|_| r.choice(&gaps).copied().unwrap_or(0))
            .collect();
        assert_eq!(c, [10, 10, 30, 30, 900]);
        let g: Vec<f64> = (0..3).map(|_| r.gauss(0.0, 1.0)).collect();
        assert_eq!(
            g,
            [
                -1.028_800_917_601_804_7,
                -0.767_591_802_554_779_1,
                -0.329_400_199_661_002_26
            ]
        );
        assert_eq!(r.normalvariate(0.0, 1.0), -0.250_668_572_417_539_8);
        assert_eq!(r.lognormvariate(0.5, 0.3), 1.931_900_067_187_478_9);
        assert_eq!(r.expovariate(0.25), 2.196_979_792_998_821);
    }

    #[test]
    fn wide_seeds_and_ranges() {
        // random.Random(2**40 + 5).random(), random.Random(2**100 + 7).random(),
        // random.Random(7).randint(-2**63, 2**63 - 1)
        assert_eq!(
            PyRandom::new((1 << 40) + 5).random(),
            0.504_380_297_041_844_3
        );
        assert_eq!(
            PyRandom::from_u128((1 << 100) + 7).random(),
            0.416_041_613_239_135_13
        );
        assert_eq!(
            PyRandom::new(7).randint(i64::MIN, i64::MAX),
            8_261_657_684_473_197_624
        );
        assert_eq!(PyRandom::new(7).choice::<u8>(&[]), None);
    }
}
