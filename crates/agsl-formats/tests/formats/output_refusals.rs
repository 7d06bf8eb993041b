//! The decoding contract's other half: when the output refuses a batch or a reject, every
//! format stops and hands that very error back, so the caller (the pipeline's sinks) learns of
//! its own failure from the result alone and keeps no error of its own on the side.

use agsl_formats::sample::{SamplePlan, objects};
use agsl_formats::{DecodeCounts, DecodeError, DecodeOutput, Format, Reject};
use arrow_array::RecordBatch;

/// What the output refused: a batch or a reject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("refused a {0}")]
struct Refused(&'static str);

/// Takes everything but the one kind it refuses.
struct RefusingOutput {
    refused: Refused,
}

impl DecodeOutput for RefusingOutput {
    fn batch(&mut self, _batch: RecordBatch) -> Result<(), DecodeError> {
        match self.refused {
            Refused("batch") => Err(DecodeError::Output(Box::new(self.refused))),
            _ => Ok(()),
        }
    }

    fn reject(&mut self, _reject: Reject<'_>) -> Result<(), DecodeError> {
        match self.refused {
            Refused("reject") => Err(DecodeError::Output(Box::new(self.refused))),
            _ => Ok(()),
        }
    }
}

#[test]
fn every_format_hands_back_what_its_output_refused() {
    let plan = SamplePlan {
        objects: 1,
        lines_per_object: 60,
        bad_line_every: Some(7),
        ..SamplePlan::default()
    };
    for format in Format::ALL {
        let object = objects(format, plan.clone()).next().unwrap();
        for refused in [Refused("batch"), Refused("reject")] {
            let mut output = RefusingOutput { refused };
            let mut counts = DecodeCounts::default();
            let result = format.parser().decoder(16).decode(
                &mut object.body.as_slice(),
                &mut output,
                &mut counts,
            );
            match result {
                Err(DecodeError::Output(error)) => assert_eq!(
                    error.downcast_ref::<Refused>(),
                    Some(&refused),
                    "{format}: {error}"
                ),
                other => panic!("{format}: an output that {refused} got {other:?}"),
            }
        }
    }
}
