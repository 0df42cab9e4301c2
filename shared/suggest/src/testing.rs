//! A stand-in embedder for unit tests: a bag of the expanded name's concepts, hashed into a
//! vector. It knows what the abbreviation table knows and nothing more, and needs no model.

use crate::embed::Embedder;
use crate::{SuggestError, lexical};

pub struct BagOfWords;

const DIMENSIONS: usize = 64;

impl Embedder for BagOfWords {
    fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, SuggestError> {
        Ok(texts
            .iter()
            .map(|text| {
                let mut v = vec![0.0f32; DIMENSIONS];
                for word in lexical::concepts(&lexical::expand(text)) {
                    let bucket =
                        word.bytes().fold(7usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize)) % DIMENSIONS;
                    v[bucket] += 1.0;
                }
                let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
                v.into_iter().map(|x| x / norm).collect()
            })
            .collect())
    }
}
